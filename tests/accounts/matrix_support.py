"""The cast of the authorization tests: two universities, two enterprises, a fund and a
government department, one user per actor of the matrix, and tenant A's records.

Shared by test_authorization_matrix, test_canary and test_foreign_ids. Records are created
through the real services acting as SYSTEM (the autouse fixture of tests/conftest.py).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests import auth, factories

MATRIX_FILE = Path(__file__).with_name("authorization_matrix.csv")

ACTORS = (
    "anonymous",
    "no_membership",
    "researcher_a",
    "officer_a",
    "admin_a",
    "officer_b",
    "enterprise_e1",
    "enterprise_e2",
    "investor",
    "government",
    "platform_admin",
)

# organisation key -> (external id, kind)
ORGANIZATIONS = {
    "a": ("MX-ORG-A", "university"),
    "b": ("MX-ORG-B", "university"),
    "e1": ("MX-ENT-E1", "enterprise"),
    "e2": ("MX-ENT-E2", "enterprise"),
    "fund": ("MX-FUND", "fund"),
    "gov": ("MX-GOV", "government"),
}

# actor -> (organisation key, role) memberships; platform_admin is a platform admin
MEMBERSHIPS: dict[str, tuple[tuple[str, str], ...]] = {
    "no_membership": (),
    "researcher_a": (("a", "researcher"),),
    "officer_a": (("a", "tto_officer"),),
    "admin_a": (("a", "org_admin"),),
    "officer_b": (("b", "tto_officer"),),
    "enterprise_e1": (("e1", "enterprise_user"),),
    "enterprise_e2": (("e2", "enterprise_user"),),
    "investor": (("fund", "investor"),),
    "government": (("gov", "government_analyst"),),
    "platform_admin": (),
}


def username(actor: str) -> str:
    return "mx-" + actor.replace("_", "-")


@dataclass(frozen=True)
class MatrixRow:
    route: str
    method: str
    path: str
    expected: dict[str, int]


def load_matrix() -> list[MatrixRow]:
    with MATRIX_FILE.open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    rows = []
    for record in csv.DictReader(lines):
        rows.append(
            MatrixRow(
                route=record["route"],
                method=record["method"],
                path=record["path"],
                expected={actor: int(record[actor]) for actor in ACTORS},
            )
        )
    return rows


@dataclass
class World:
    org_ids: dict[str, int]
    org_ext: dict[str, str]
    records: dict[str, int] = field(default_factory=dict)  # name -> id
    tokens: dict[str, str] = field(default_factory=dict)  # actor -> bearer secret
    pages: dict[str, TestClient] = field(default_factory=dict)  # actor -> signed-in client


def build_world(database: Any) -> World:
    """Organisations, one user per actor and tenant A's targets (no sign-in yet)."""
    with database.unit_of_work() as session:
        org_ids, org_ext = {}, {}
        for key, (external_id, kind) in ORGANIZATIONS.items():
            make = factories.enterprise if kind == "enterprise" else factories.organization
            org = make(session, external_id=external_id, kind=kind, name=f"矩阵{key}")
            org_ids[key], org_ext[key] = org.id, org.external_id
    world = World(org_ids, org_ext)
    for actor, memberships in MEMBERSHIPS.items():
        auth.create_user(
            database,
            username(actor),
            admin=actor == "platform_admin",
            memberships=[(org_ext[key], role) for key, role in memberships],
        )
    with database.unit_of_work() as session:
        world.records["result_internal_a"] = new_result(session, world).id
        world.records["result_public_a"] = new_result(session, world, "public").id
        world.records["demand_internal_e1"] = new_demand(session, world).id
        world.records["demand_public_e1"] = new_demand(session, world, "public").id
        world.records["person_a"] = new_person(session, world).id
    return world


def new_result(session: Any, world: World, confidentiality: str = "internal", **extra: Any) -> Any:
    fields = {"owner": world.org_ext["a"], "confidentiality": confidentiality}
    fields.setdefault("contributors", "甲:60;乙:40")
    return factories.result(session, **{**fields, **extra})


def new_demand(session: Any, world: World, confidentiality: str = "internal", **extra: Any) -> Any:
    return factories.demand(session, world.org_ext["e1"], confidentiality=confidentiality, **extra)


def new_person(session: Any, world: World, **extra: Any) -> Any:
    return factories.person(session, organization=world.org_ext["a"], **extra)


def page_client(app: Any, actor: str) -> TestClient:
    """A browser of its own: signed in with a session cookie unless anonymous."""
    client = TestClient(app)
    if actor != "anonymous":
        auth.sign_in(client, username(actor))
    return client


def sign_everyone_in(app: Any, world: World) -> None:
    api = TestClient(app)
    for actor in ACTORS:
        world.pages[actor] = page_client(app, actor)
        if actor != "anonymous":
            world.tokens[actor] = auth.api_token(api, username(actor))


def api_headers(world: World, actor: str) -> dict[str, str]:
    return {} if actor == "anonymous" else auth.bearer(world.tokens[actor])

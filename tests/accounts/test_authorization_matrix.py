"""The full authorization matrix: every route × every actor answers the status documented in
authorization_matrix.csv (0 mismatches, all reported together).

Pages are called with each actor's own signed-in browser (session cookie, CSRF token), the API
with each actor's bearer token. Mutating cells get a fresh target created as SYSTEM, so one
actor's delete never changes the next cell; university A stays the organisation target (it
owns results, so a permitted delete answers 409 and A survives).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.accounts import repository as accounts_repository
from shelfbridge.accounts import sharing
from shelfbridge.registry import service
from shelfbridge.registry.pages.forms import form_values
from shelfbridge.registry.pages.kinds import PAGES
from tests import auth
from tests.accounts.matrix_support import (
    ACTORS,
    MatrixRow,
    World,
    api_headers,
    build_world,
    load_matrix,
    new_demand,
    new_person,
    new_result,
    page_client,
    sign_everyone_in,
    username,
)

_unique = itertools.count(1)
KINDS = {"organizations": "organization", "people": "person", "results": "result"}
KINDS["demands"] = "demand"
TARGET = {
    "results": "result_internal_a",
    "demands": "demand_internal_e1",
    "people": "person_a",
}
# Routes that end or replace the caller's session: each cell gets a browser of its own, and
# they run last (a password change ends the user's other sessions).
DISRUPTIVE = ("page_logout", "page_login_submit", "page_account_password")


@pytest.fixture
def world(app: Any, database: Any) -> World:
    built = build_world(database)
    sign_everyone_in(app, built)
    return built


def _kind_of(route: str) -> str | None:
    for kind, one in KINDS.items():
        if route.endswith(f"_{kind}") or route.endswith(f"_{one}"):
            return kind
    return None


class Cells:
    """Turns a (route, actor) into a request against tenant A's targets."""

    def __init__(self, app: Any, database: Any, world: World) -> None:
        self.app = app
        self.database = database
        self.world = world
        self.api = TestClient(app)

    # ---------------------------------------------------------------- targets
    def fresh(self, kind: str) -> int:
        """A new target of tenant A for one mutating cell (organisations: A itself)."""
        if kind == "organizations":
            return self.world.org_ids["a"]
        makers: dict[str, Callable[..., Any]] = {
            "results": new_result,
            "demands": new_demand,
            "people": new_person,
        }
        with self.database.unit_of_work() as session:
            return int(makers[kind](session, self.world).id)

    def target(self, kind: str) -> int:
        if kind == "organizations":
            return self.world.org_ids["a"]
        return self.world.records[TARGET[kind]]

    def shared(self, kind: str, *, granted: bool) -> tuple[int, int]:
        """A fresh partners record of tenant A (a result) or E1 (a demand) and, when
        ``granted``, the id of a grant that lets E2 see it."""
        make = new_result if kind == "results" else new_demand
        with self.database.unit_of_work() as session:
            record = make(session, self.world, "partners")
            grant = sharing.give(session, record, self.world.org_ext["e2"]) if granted else None
            return int(record.id), int(grant.id) if grant is not None else 0

    def officer_a_token_id(self) -> int:
        response = self.api.post(
            "/api/v1/auth/token",
            json={"username": username("officer_a"), "password": auth.PASSWORD, "name": "mx"},
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def fresh_member_of_a(self) -> tuple[str, int]:
        name = f"mx-member-{next(_unique)}"
        user_id = auth.create_user(
            self.database, name, memberships=[(self.world.org_ext["a"], "researcher")]
        )
        with self.database.unit_of_work() as session:
            (membership, _org), *_ = accounts_repository.live_memberships(session, user_id)
            return name, int(membership.id)

    def create_body(self, kind: str) -> dict[str, str]:
        n = next(_unique)
        ext = self.world.org_ext
        return {
            "organizations": {"name": f"矩阵新机构{n}", "kind": "university"},
            "people": {"name": f"矩阵新人{n}", "organization": ext["a"]},
            "results": {
                "kind": "invention_patent",
                "title": f"矩阵新成果{n}",
                "owner": ext["a"],
                "confidentiality": "internal",
            },
            "demands": {
                "enterprise": ext["e1"],
                "title": f"矩阵新需求{n}",
                "description": "矩阵测试",
                "confidentiality": "internal",
            },
        }[kind]

    def edit_form(self, kind: str, ident: int) -> dict[str, str]:
        with self.database.unit_of_work() as session:
            values = form_values(PAGES[kind], service.get(session, kind, ident))
        key = "name" if kind in ("organizations", "people") else "title"
        values[key] = f"{values[key]}·改{next(_unique)}"
        return values

    # ---------------------------------------------------------------- calls
    def call_api(self, row: MatrixRow, actor: str) -> int:
        headers = api_headers(self.world, actor)
        route, kind = row.route, _kind_of(row.route)
        path = row.path
        body: dict[str, Any] | None = None
        if route == "create_api_token":
            who = username(actor) if actor != "anonymous" else "mx-nobody"
            body = {"username": who, "password": auth.PASSWORD}
        elif route == "revoke_api_token":
            path = path.replace("{token_id}", str(self.officer_a_token_id()))
        elif kind is not None and "{record_id}" in path:
            mutating = row.method in ("PATCH", "DELETE")
            ident = self.fresh(kind) if mutating else self.target(kind)
            path = path.replace("{record_id}", str(ident))
            if row.method == "PATCH":
                key = "name" if kind in ("organizations", "people") else "title"
                body = {key: f"矩阵改名{next(_unique)}"}
        elif kind is not None and row.method == "POST":
            body = self.create_body(kind)
        response = self.api.request(
            row.method, path, json=body, headers=headers, follow_redirects=False
        )
        return response.status_code

    def call_page(self, row: MatrixRow, actor: str) -> int:
        route, kind = row.route, _kind_of(row.route)
        client = self.world.pages[actor]
        if route in DISRUPTIVE:
            client = page_client(self.app, actor)
        path = row.path.replace("{organization_id:int}", str(self.world.org_ids["a"]))
        data: dict[str, str] | None = None
        files: Any = None
        if route == "static":
            path = "/static/shelfbridge.css"
        elif route == "page_login_submit":
            who = username(actor) if actor != "anonymous" else "mx-nobody"
            data = {"username": who, "password": auth.PASSWORD}
        elif route == "page_account_password":
            new = f"mx-new-passphrase-{next(_unique)}-ok"
            data = {
                "current_password": auth.PASSWORD,
                "new_password": new,
                "new_password_again": new,
            }
        elif route == "page_account_profile":
            data = {"display_name": "矩阵"}
        elif route == "page_account_token_create":
            data = {"name": "mx"}
        elif route == "page_account_token_revoke":
            path = path.replace("{token_id:int}", str(self.officer_a_token_id()))
            data = {}
        elif route == "page_member_add":
            name = f"mx-invitee-{next(_unique)}"
            auth.create_user(self.database, name)
            data = {"username": name, "role": "researcher"}
        elif route in ("page_member_role", "page_member_remove"):
            _name, membership_id = self.fresh_member_of_a()
            path = path.replace("{membership_id:int}", str(membership_id))
            data = {"role": "investor"} if route == "page_member_role" else {}
        elif route == "page_import_file":
            n = next(_unique)
            data = {"kind": "organizations"}
            csv_text = f"external_id,name,kind\nMX-IMP-{n},矩阵导入大学{n},university\n"
            files = {"file": ("orgs.csv", csv_text.encode(), "text/csv")}
        elif route.startswith(("page_share_", "page_unshare_")):
            assert kind is not None
            ident, grant = self.shared(kind, granted=route.startswith("page_unshare_"))
            path = path.replace("{record_id:int}", str(ident))
            path = path.replace("{grant_id:int}", str(grant))
            data = {"organization": self.world.org_ext["e2"]} if grant == 0 else {}
        elif kind is not None and "{record_id:int}" in path:
            mutating = row.method == "POST"
            ident = self.fresh(kind) if mutating else self.target(kind)
            path = path.replace("{record_id:int}", str(ident))
            if route.startswith("page_update_"):
                data = self.edit_form(kind, ident)
            elif mutating:
                data = {}
        elif kind is not None and route.startswith("page_create_"):
            data = self.create_body(kind)
        elif row.method == "POST":
            data = {}
        if row.method == "POST":
            data = {**(data or {}), "csrf_token": auth.csrf_token(client, "/")}
        response = client.request(row.method, path, data=data, files=files, follow_redirects=False)
        return response.status_code


def _order(rows: list[MatrixRow]) -> list[MatrixRow]:
    api = [r for r in rows if r.path.startswith("/api/")]
    pages = [r for r in rows if not r.path.startswith("/api/") and r.route not in DISRUPTIVE]
    last = sorted(
        (r for r in rows if r.route in DISRUPTIVE), key=lambda r: DISRUPTIVE.index(r.route)
    )
    return api + pages + last


def test_every_route_answers_every_actor_as_documented(
    app: Any, database: Any, world: World
) -> None:
    cells = Cells(app, database, world)
    mismatches = []
    count = 0
    for row in _order(load_matrix()):
        for actor in ACTORS:
            call = cells.call_api if row.path.startswith("/api/") else cells.call_page
            got = call(row, actor)
            count += 1
            expected = row.expected[actor]
            if got != expected:
                mismatches.append(
                    f"{row.route} {row.method} {row.path} as {actor}: "
                    f"expected {expected}, got {got}"
                )
    assert count == len(load_matrix()) * len(ACTORS)
    assert not mismatches, f"{len(mismatches)} of {count} cells differ:\n" + "\n".join(mismatches)

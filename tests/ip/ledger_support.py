"""The cast of the ledger tests: university A (Beijing, a state university) with two officers
and an inventor linked to a person, university B with its officer, and A's first asset (an
invention patent of two contributors, the inventor the main one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from shelfbridge.accounts.actor import Actor, current_actor, user_actor
from shelfbridge.accounts.models import User
from tests import auth, factories


@dataclass
class Ledger:
    org_a: int
    org_b: int
    person: int  # the inventor's person
    actors: dict[str, Actor]
    asset: int


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


USERS = {
    "officer_a": ("a", "tto_officer"),
    "officer2_a": ("a", "tto_officer"),
    "admin_a": ("a", "org_admin"),
    "inventor": ("a", "researcher"),
    "researcher_a": ("a", "researcher"),
    "officer_b": ("b", "tto_officer"),
}


def build_ledger(database: Any, *, region: str = "110000") -> Ledger:
    with database.unit_of_work() as session:
        a = factories.organization(session, external_id="IP-ORG-A", region_code=region)
        b = factories.organization(session, external_id="IP-ORG-B")
        inventor = factories.person(session, name="王发明", external_id="IP-PER-1")
        ids = {"a": a.id, "b": b.id}
        ext = {"a": a.external_id, "b": b.external_id}
        person_id = inventor.id
    actors: dict[str, Actor] = {}
    for name, (org, role) in USERS.items():
        username = "ip-" + name.replace("_", "-")
        user_id = auth.create_user(database, username, memberships=[(ext[org], role)])
        linked = person_id if name == "inventor" else None
        if linked is not None:
            with database.unit_of_work() as session:
                user = session.scalars(select(User).where(User.id == user_id)).one()
                user.person_id = linked
        actors[name] = user_actor(user_id, username, False, linked, [(ids[org], role)])
    with database.unit_of_work() as session:
        asset = factories.ip_asset(
            session,
            ids["a"],
            contributors=[
                {"name": "王发明", "person": "IP-PER-1", "weight": "3", "main": True},
                {"name": "李协作", "weight": "1"},
            ],
        )
        asset_id = asset.id
    return Ledger(ids["a"], ids["b"], person_id, actors, asset_id)


def granted_patent(
    database: Any, ledger: Ledger, filed_on: date, granted_on: date, **fields: Any
) -> int:
    """An invention patent of university A, granted, entered by its officer: its id."""
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        asset = factories.ip_asset(
            session,
            ledger.org_a,
            filed_on=filed_on.isoformat(),
            status="granted",
            granted_on=granted_on.isoformat(),
            **fields,
        )
        return int(asset.id)

"""The IP commands: linking a user to their person, deadlines, the annual report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shelfbridge.accounts.models import User
from tests import auth, factories


def _person_of(database: Any, username: str) -> int | None:
    with database.unit_of_work(write=False) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return user.person_id


def test_link_person_links_unlinks_and_refuses_a_person_taken(database: Any, run_cli: Any) -> None:
    with database.unit_of_work() as session:
        org = factories.organization(session)
        person = factories.person(session, external_id="PER-LINK-1", name="林发明")
        person_id, org_ext = person.id, org.external_id
    auth.create_user(database, "link-one", memberships=[(org_ext, "researcher")])
    auth.create_user(database, "link-two")
    linked = run_cli("user", "link-person", "link-one", "PER-LINK-1")
    assert linked.exit_code == 0, linked.output
    assert "林发明 (PER-LINK-1)" in linked.stdout
    assert _person_of(database, "link-one") == person_id
    taken = run_cli("user", "link-person", "link-two", "PER-LINK-1")
    assert taken.exit_code == 1
    assert "already linked to the user link-one" in taken.stderr
    unknown = run_cli("user", "link-person", "link-two", "PER-NOBODY")
    assert unknown.exit_code == 1 and "PER-NOBODY" in unknown.stderr
    assert run_cli("user", "link-person", "link-two").exit_code == 2
    unlinked = run_cli("user", "link-person", "link-one", "--unlink")
    assert unlinked.exit_code == 0
    assert _person_of(database, "link-one") is None

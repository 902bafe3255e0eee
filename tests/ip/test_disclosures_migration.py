"""Migration 0012 on the disclosures already there: going up fills the persons named from the
inventors' rows; going down and up again leaves them as the application wrote them."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text

from shelfbridge.core.migrate import alembic_config, upgrade
from shelfbridge.ip import disclosure_service
from tests import factories
from tests.ip.ledger_support import acting_as, build_ledger

NAMED = "SELECT title, named_person_ids FROM ip_disclosures ORDER BY id"


def test_the_migration_fills_the_persons_named_in_existing_disclosures(
    database: Any, owner_database: Any, db_url: str
) -> None:
    ledger = build_ledger(database)
    with database.unit_of_work() as session:
        other = factories.person(session, name="赵合作", external_id="IP-PER-2").id
    for title, inventors in (
        ("无人", "甲:100"),
        ("两人", "赵合作@IP-PER-2:40\n王发明@IP-PER-1:30\n乙:30"),
    ):
        with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
            disclosure_service.create(
                session, {"title": title, "abstract": "摘要", "contributors": inventors}
            )
    low, high = sorted((ledger.person, other))
    expected = [("无人", ""), ("两人", f",{low},{high},")]
    with owner_database.reader.connect() as connection:
        assert [tuple(row) for row in connection.execute(text(NAMED))] == expected
    database.dispose()
    owner_database.dispose()

    command.downgrade(alembic_config(db_url), "0011")
    with owner_database.reader.connect() as connection:
        columns = connection.execute(text("SELECT * FROM ip_disclosures")).keys()
        assert "named_person_ids" not in columns
    owner_database.dispose()
    upgrade(db_url)

    with owner_database.reader.connect() as connection:
        assert [tuple(row) for row in connection.execute(text(NAMED))] == expected

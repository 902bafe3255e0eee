"""PostgreSQL as a second wall: row-level security holds even when the application's own
checks are skipped, and the application's role can do no more than the application needs.

Every query here goes straight to the tables (no repository, no ``visible_clause``), as the
application's role (``database``), with the caller set per transaction by ``core.database``
from the current actor, or with no caller at all (a bare engine).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError

from shelfbridge.accounts.actor import SYSTEM, Actor, current_actor, user_actor
from shelfbridge.accounts.models import SharingGrant
from shelfbridge.accounts.roles import ENTERPRISE_USER, OFFICER, RESEARCHER
from shelfbridge.cli.common import role_warnings
from shelfbridge.core.database import Database, caller_settings
from shelfbridge.core.models import utcnow
from shelfbridge.core.schema import metadata
from shelfbridge.registry.models import Demand, Result, ResultContributor
from tests import factories

postgres_only = pytest.mark.skipif(
    not os.environ.get("SHELFBRIDGE_TEST_DATABASE_URL"),
    reason="row-level security and database roles exist only on PostgreSQL: set "
    "SHELFBRIDGE_TEST_DATABASE_URL to a PostgreSQL URL to run these tests",
)
TENANT_TABLES = ("results", "result_contributors", "demands", "sharing_grants")
REFUSED = "row-level security|permission denied"


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


def _user(name: str, *memberships: tuple[int, str], admin: bool = False) -> Actor:
    return user_actor(len(name), name, admin, None, memberships)


def _seed(database: Database) -> dict[str, int]:
    """Two universities A and B and an enterprise E, each with public and non-public rows."""
    with database.unit_of_work() as session:
        a = factories.organization(session, external_id="ORG-A")
        b = factories.organization(session, external_id="ORG-B")
        e = factories.enterprise(session, external_id="ENT-E")
        ids = {"a": a.id, "b": b.id, "e": e.id}
        for owner, key in (("ORG-A", "a"), ("ORG-B", "b")):
            for level in ("public", "internal", "partners"):
                record = factories.result(
                    session, owner=owner, confidentiality=level, contributors="甲:60;乙:40"
                )
                ids[f"{key}_{level}"] = record.id
        ids["e_internal"] = factories.demand(session, "ENT-E", confidentiality="internal").id
        ids["e_public"] = factories.demand(session, "ENT-E").id
    return ids


def _grant(database: Database, ids: dict[str, int], record: str, owner: str, to: str) -> int:
    with database.unit_of_work() as session:
        grant = SharingGrant(
            record_kind="results",
            record_id=ids[record],
            owner_org_id=ids[owner],
            grantee_org_id=ids[to],
        )
        session.add(grant)
        session.flush()
        return int(grant.id)


def _visible_results(database: Database) -> set[int]:
    with database.unit_of_work(write=False) as session:
        return set(session.scalars(select(Result.id)))


def _rowcount(outcome: Any) -> int:
    return int(cast(CursorResult[Any], outcome).rowcount)


def _counts(connection: Any) -> dict[str, int]:
    return {
        table: int(connection.scalar(text(f"SELECT count(*) FROM {table}")))
        for table in TENANT_TABLES
    }


@postgres_only
def test_with_no_caller_set_the_tenant_tables_read_as_empty(
    database: Database, owner_database: Database
) -> None:
    ids = _seed(database)
    _grant(database, ids, "b_partners", "b", "a")
    with owner_database.reader.connect() as connection:
        assert all(_counts(connection).values()), "the rows are there"
    bare = create_engine(database.url)  # the application's role, no caller set
    try:
        with bare.connect() as connection:
            assert _counts(connection) == dict.fromkeys(TENANT_TABLES, 0)
            # An empty caller is no caller, whatever else is claimed.
            connection.execute(
                text(
                    "SELECT set_config('shelfbridge.actor', '', true),"
                    " set_config('shelfbridge.unrestricted', '1', true),"
                    " set_config('shelfbridge.read_orgs', :orgs, true)"
                ),
                {"orgs": f"{ids['a']},{ids['b']}"},
            )
            assert _counts(connection) == dict.fromkeys(TENANT_TABLES, 0)
    finally:
        bare.dispose()


@postgres_only
def test_a_member_of_a_sees_a_internal_rows_and_only_the_public_rows_of_b(
    database: Database,
) -> None:
    ids = _seed(database)
    with acting_as(_user("researcher-a", (ids["a"], RESEARCHER))):
        seen = _visible_results(database)
        with database.unit_of_work(write=False) as session:
            demands = set(session.scalars(select(Demand.id)))
            contributors_of_b_internal = session.scalar(
                select(func.count())
                .select_from(ResultContributor)
                .where(ResultContributor.result_id == ids["b_internal"])
            )
    assert seen == {ids[k] for k in ("a_public", "a_internal", "a_partners", "b_public")}
    assert demands == {ids["e_public"]}
    assert contributors_of_b_internal == 0


@postgres_only
def test_anonymous_visitors_see_only_public_rows(database: Database) -> None:
    ids = _seed(database)
    with acting_as(Actor(kind="anonymous")):
        assert _visible_results(database) == {ids["a_public"], ids["b_public"]}


@postgres_only
def test_the_platform_admin_and_the_system_see_every_row(database: Database) -> None:
    ids = _seed(database)
    every = {value for key, value in ids.items() if key.startswith(("a_", "b_"))}
    for actor in (SYSTEM, _user("admin", admin=True)):
        with acting_as(actor):
            assert _visible_results(database) == every


@postgres_only
def test_a_partners_row_is_visible_only_while_a_live_grant_names_the_reader(
    database: Database,
) -> None:
    ids = _seed(database)
    reader_a = _user("researcher-a", (ids["a"], RESEARCHER))
    with acting_as(reader_a):
        assert ids["b_partners"] not in _visible_results(database)
    grant_id = _grant(database, ids, "b_partners", "b", "a")
    _grant(database, ids, "b_internal", "b", "a")  # a grant never opens an internal row
    with acting_as(reader_a):
        seen = _visible_results(database)
        with database.unit_of_work(write=False) as session:
            contributors = session.scalar(
                select(func.count())
                .select_from(ResultContributor)
                .where(ResultContributor.result_id == ids["b_partners"])
            )
    assert ids["b_partners"] in seen and ids["b_internal"] not in seen
    assert contributors == 2
    # A third organisation sees neither the row nor the grant.
    with acting_as(_user("enterprise-e", (ids["e"], ENTERPRISE_USER))):
        assert ids["b_partners"] not in _visible_results(database)
        with database.unit_of_work(write=False) as session:
            assert session.scalar(select(func.count()).select_from(SharingGrant)) == 0
    with database.unit_of_work() as session:
        session.execute(
            update(SharingGrant).where(SharingGrant.id == grant_id).values(withdrawn_at=utcnow())
        )
    with acting_as(reader_a):
        assert ids["b_partners"] not in _visible_results(database)


@postgres_only
def test_inserting_a_row_owned_by_another_organisation_is_refused(database: Database) -> None:
    ids = _seed(database)
    now = utcnow()
    with acting_as(_user("officer-a", (ids["a"], OFFICER))):
        for owner in (ids["b"], None):
            with pytest.raises(DBAPIError, match=REFUSED), database.unit_of_work() as session:
                session.execute(
                    insert(Result).values(
                        external_id=f"RES-FORGED-{owner}",
                        kind="invention_patent",
                        title="冒名成果",
                        keywords=[],
                        ipc_codes=[],
                        owner_org_id=owner,
                        confidentiality="internal",
                        status="available",
                        created_at=now,
                        updated_at=now,
                    )
                )
        with pytest.raises(DBAPIError, match=REFUSED), database.unit_of_work() as session:
            session.execute(
                insert(ResultContributor).values(
                    result_id=ids["b_public"], position=3, name="丙", share=0
                )
            )
        with pytest.raises(DBAPIError, match=REFUSED), database.unit_of_work() as session:
            session.execute(
                insert(SharingGrant).values(
                    record_kind="results",
                    record_id=ids["b_partners"],
                    owner_org_id=ids["b"],
                    grantee_org_id=ids["a"],
                    created_at=now,
                )
            )


@postgres_only
def test_another_organisations_rows_cannot_be_changed_taken_or_deleted(
    database: Database,
) -> None:
    ids = _seed(database)
    with acting_as(_user("officer-a", (ids["a"], OFFICER))):
        with database.unit_of_work() as session:
            changed = session.execute(
                update(Result).where(Result.id == ids["b_public"]).values(title="改掉")
            )
            taken = session.execute(
                update(Result).where(Result.id == ids["b_public"]).values(owner_org_id=ids["a"])
            )
            deleted = session.execute(delete(Result).where(Result.id == ids["b_public"]))
            shares = session.execute(
                update(ResultContributor)
                .where(ResultContributor.result_id == ids["b_public"])
                .values(share=100)
            )
            assert [_rowcount(o) for o in (changed, taken, deleted, shares)] == [0, 0, 0, 0]
        # Giving one's own row away is refused outright.
        with pytest.raises(DBAPIError, match=REFUSED), database.unit_of_work() as session:
            session.execute(
                update(Result).where(Result.id == ids["a_internal"]).values(owner_org_id=ids["b"])
            )
    with database.unit_of_work(write=False) as session:
        b_public = session.get(Result, ids["b_public"])
        a_internal = session.get(Result, ids["a_internal"])
        assert b_public is not None and a_internal is not None
        assert b_public.owner_org_id == ids["b"] and b_public.title != "改掉"
        assert [c.share for c in b_public.contributors] == [60, 40]
        assert a_internal.owner_org_id == ids["a"]


@postgres_only
def test_a_reader_without_write_rights_changes_nothing_even_in_its_own_organisation(
    database: Database,
) -> None:
    ids = _seed(database)
    with (
        acting_as(_user("researcher-a", (ids["a"], RESEARCHER))),
        database.unit_of_work() as session,
    ):
        changed = session.execute(
            update(Result).where(Result.id == ids["a_internal"]).values(trl=9)
        )
        assert _rowcount(changed) == 0


@postgres_only
def test_the_application_role_only_appends_to_the_audit_trail_and_truncates_nothing(
    database: Database,
) -> None:
    ids = _seed(database)
    statements = [
        "UPDATE audit_events SET actor = 'x'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_checkpoint",
        "INSERT INTO audit_checkpoint (id, head_seq, head_hash) VALUES (2, 0, '')",
        *(f"TRUNCATE {table}" for table in ("audit_events", "results", "organizations")),
        "ALTER TABLE results DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE results NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY results_select ON results",
        "SET ROLE postgres",
    ]
    for statement in statements:
        with (
            pytest.raises(DBAPIError, match="permission denied|must be owner"),
            database.unit_of_work() as session,
        ):
            session.execute(text(statement))
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Result)) == len(
            [k for k in ids if k.startswith(("a_", "b_"))]
        )


@postgres_only
def test_the_application_role_is_neither_superuser_nor_owner_and_reaches_every_table(
    database: Database, owner_database: Database
) -> None:
    role = database.connection_role()
    assert role is not None and role.is_safe, role
    assert role_warnings(database) == []
    owner = owner_database.connection_role()
    assert owner is not None and not owner.is_safe
    assert role_warnings(owner_database), "init warns about an owner or superuser URL"
    with database.reader.connect() as connection:
        for table in metadata.tables:
            assert connection.scalar(
                text("SELECT has_table_privilege(current_user, :t, 'SELECT')"), {"t": table}
            ), f"{table} is not granted to shelfbridge_app (add it to a migration)"
        forced: dict[str, bool] = dict(
            connection.execute(
                text(
                    "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class"
                    " WHERE relname = ANY (:tables) AND relnamespace = 'public'::regnamespace"
                ),
                {"tables": list(TENANT_TABLES)},
            ).all()
        )
    assert forced == dict.fromkeys(TENANT_TABLES, True)


@postgres_only
def test_the_caller_costs_one_statement_per_transaction_and_ends_with_it(
    database: Database,
) -> None:
    ids = _seed(database)
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(database.reader, "before_cursor_execute", note)
    try:
        with (
            acting_as(_user("officer-a", (ids["a"], OFFICER))),
            database.unit_of_work(write=False) as session,
        ):
            session.scalar(select(func.count()).select_from(Result))
            settings = session.execute(
                text(
                    "SELECT current_setting('shelfbridge.actor'),"
                    " current_setting('shelfbridge.unrestricted'),"
                    " current_setting('shelfbridge.read_orgs'),"
                    " current_setting('shelfbridge.write_orgs')"
                )
            ).one()
    finally:
        event.remove(database.reader, "before_cursor_execute", note)
    assert len(statements) == 3 and "set_config" in statements[0]
    assert tuple(settings) == ("user:officer-a", "0", str(ids["a"]), str(ids["a"]))
    # Settings are local to the transaction: the pooled connection (taken here without the
    # listener's help) has forgotten them.
    raw = database.reader.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT current_setting('shelfbridge.actor', true)")
        row = cursor.fetchone()
        assert row is not None and row[0] in (None, "")
        raw.rollback()
    finally:
        raw.close()


def test_the_caller_settings_mirror_the_actor() -> None:
    member = _user("multi", (3, RESEARCHER), (1, OFFICER), (2, ENTERPRISE_USER))
    assert caller_settings(member) == {
        "actor": "user:multi",
        "unrestricted": "0",
        "read_orgs": "1,2,3",
        "write_orgs": "1,2",
    }
    assert caller_settings(Actor(kind="anonymous")) == {
        "actor": "anonymous",
        "unrestricted": "0",
        "read_orgs": "",
        "write_orgs": "",
    }
    assert caller_settings(SYSTEM)["unrestricted"] == "1"
    assert caller_settings(_user("root", admin=True))["unrestricted"] == "1"


def test_init_runs_migrations_as_the_owner_and_is_quiet_about_a_proper_role(
    run_cli: Any,
) -> None:
    outcome = run_cli("init")
    assert outcome.exit_code == 0, outcome.output
    assert "row-level security" not in outcome.output


@postgres_only
def test_init_warns_when_the_application_would_connect_as_the_owner(db_url: str) -> None:
    from typer.testing import CliRunner

    from shelfbridge.cli import app as cli_app

    # The owner's URL as the application's: what a first installation often does.
    outcome = contextvars.copy_context().run(
        CliRunner().invoke,
        cli_app,
        ["init", "--db", db_url, "--lang", "en"],
        env={"SHELFBRIDGE_MIGRATION_DATABASE_URL": None},
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    assert "superuser" in outcome.output or "owner's rights" in outcome.output

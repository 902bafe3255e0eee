"""The change counter: one number that every commit changing the application's data raises.

What the application remembers from the database (list totals and page anchors in
``registry.repository``, credentials in ``accounts.authn``) is filed under the counter's value
(``core.versions``) and used again only while it is unchanged. Triggers in the database raise
it, so every writer counts: the application, the command line, another process, a person at
``psql`` or ``sqlite3``. Only the security events are left out: reads of non-public records
are written every two seconds while signed-in users work, change nothing anybody remembers,
and would otherwise start every memory afresh on each write.

- SQLite: a row trigger per table and statement kind (``AFTER INSERT|UPDATE|DELETE``) adds one;
  SQLite writes one transaction at a time, so the row is never contended.
- PostgreSQL: a deferred constraint trigger per table calls :data:`FUNCTION` at commit, which
  adds one once per transaction (a transaction-local setting remembers that it did); the row
  is locked only while its transaction commits, so writers never wait on each other for long
  and never deadlock on it. ``TRUNCATE`` (which no application role may run) has a statement
  trigger of its own.

Every table must carry the triggers, except :data:`UNTRACKED`; a migration that creates a
table, or rebuilds one (SQLite's ``batch_alter_table`` copies a table and loses its
triggers), calls :func:`track` for it. ``tests/core/test_change_counter.py`` fails when a table
lacks them.
"""

from __future__ import annotations

from alembic import op

TABLE = "change_counter"
FUNCTION = "shelfbridge_note_data_change"
UNTRACKED = frozenset({TABLE, "security_events"})
SETTING = "shelfbridge.data_change_noted"

SQLITE_KINDS = ("insert", "update", "delete")


def sqlite_trigger_names(table: str) -> list[str]:
    return [f"{table}_changed_on_{kind}" for kind in SQLITE_KINDS]


def postgresql_trigger_names(table: str) -> list[str]:
    return [f"{table}_changed", f"{table}_truncated"]


CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF coalesce(current_setting('{SETTING}', true), '') <> '1' THEN
    UPDATE {TABLE} SET version = version + 1 WHERE id = 1;
    PERFORM set_config('{SETTING}', '1', true);
  END IF;
  RETURN NULL;
END $$
"""


def track(table: str) -> None:
    """Give ``table`` the triggers that raise the change counter (again, after a rebuild)."""
    if table in UNTRACKED:
        return
    if op.get_bind().dialect.name == "postgresql":
        changed, truncated = postgresql_trigger_names(table)
        op.execute(f"DROP TRIGGER IF EXISTS {changed} ON {table}")
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {changed} AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        op.execute(f"DROP TRIGGER IF EXISTS {truncated} ON {table}")
        op.execute(
            f"CREATE TRIGGER {truncated} AFTER TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )
        return
    for kind, name in zip(SQLITE_KINDS, sqlite_trigger_names(table), strict=True):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(
            f"CREATE TRIGGER {name} AFTER {kind.upper()} ON {table} FOR EACH ROW"
            f" BEGIN UPDATE {TABLE} SET version = version + 1 WHERE id = 1; END"
        )


def untrack(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in postgresql_trigger_names(table):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        return
    for name in sqlite_trigger_names(table):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")

"""PostgreSQL as a second wall: an application role and row-level security

The application connects as a login role that is a member of the group role
``shelfbridge_app``: neither superuser nor owner of any table. That role may read and write
the domain and account tables, only append to the audit trail, and never TRUNCATE, ALTER or
DROP anything. On the tenant-scoped tables (results, their contributors, demands, sharing
grants) row-level security is enabled and forced, so that even the owner (unless superuser)
obeys it. The policies read four settings that ``core.database`` sets at the start of every
transaction from the current actor:

- ``shelfbridge.actor``: who is asking; empty or unset means nobody, and then no row at all;
- ``shelfbridge.unrestricted``: ``1`` for the platform admin and the system (CLI operators);
- ``shelfbridge.read_orgs``: comma-separated ids of the organisations whose internal
  records the caller reads;
- ``shelfbridge.write_orgs``: ids of the organisations whose records the caller may write.

They mirror ``accounts.visibility.visible_clause`` (reads) and ``can_write`` (writes); the
application applies its own rules first, so the database only ever refuses what the
application should already have refused.

SQLite has neither roles nor row-level security: there this revision does nothing.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"

# Read and write: every domain and account table (the audit trail is granted apart below).
TABLES = (
    "regions",
    "city_clusters",
    "city_cluster_members",
    "reference_terms",
    "organizations",
    "people",
    "results",
    "result_contributors",
    "demands",
    "users",
    "memberships",
    "api_tokens",
    "web_sessions",
    "sharing_grants",
    "security_events",
)
AUDIT_GRANTS = {"audit_events": "SELECT, INSERT", "audit_checkpoint": "SELECT, UPDATE"}
RLS_TABLES = ("results", "result_contributors", "demands", "sharing_grants")


# ---- the settings, each read once per statement (a scalar sub-select becomes an InitPlan)
def _setting(name: str) -> str:
    return f"current_setting('shelfbridge.{name}', true)"


CALLER = f"(SELECT coalesce({_setting('actor')}, '') <> '')"
UNRESTRICTED = f"(SELECT coalesce({_setting('unrestricted')}, '') = '1')"


def _orgs(name: str) -> str:
    """The organisation ids of a setting as int[]; empty (never NULL) when unset or ''."""
    # The outer cast keeps ``x = ANY (…)`` reading an array, not a set of rows.
    return (
        f"(SELECT coalesce(string_to_array(NULLIF({_setting(name)}, ''), ',')::int[], "
        "'{}'::int[]))::int[]"
    )


READ_ORGS = _orgs("read_orgs")
WRITE_ORGS = _orgs("write_orgs")


def _visible(table: str, owner: str) -> str:
    """USING of reads: the SQL twin of ``visibility.visible_clause``."""
    granted = (
        "EXISTS (SELECT 1 FROM sharing_grants g"
        f" WHERE g.record_kind = '{table}' AND g.record_id = {table}.id"
        f" AND g.withdrawn_at IS NULL AND g.grantee_org_id = ANY ({READ_ORGS}))"
    )
    return (
        f"{CALLER} AND ({UNRESTRICTED} OR {table}.confidentiality = 'public'"
        f" OR {table}.{owner} = ANY ({READ_ORGS})"
        f" OR ({table}.confidentiality = 'partners' AND {granted}))"
    )


def _writable(table: str, owner: str) -> str:
    return f"{CALLER} AND ({UNRESTRICTED} OR {table}.{owner} = ANY ({WRITE_ORGS}))"


# Contributors follow their result: readable when the result is (the sub-select on results
# obeys results' own policy), writable when the result's owner is writable.
CONTRIBUTOR_VISIBLE = "EXISTS (SELECT 1 FROM results r WHERE r.id = result_contributors.result_id)"
CONTRIBUTOR_WRITABLE = (
    f"{CALLER} AND EXISTS (SELECT 1 FROM results r WHERE r.id = result_contributors.result_id"
    f" AND ({UNRESTRICTED} OR r.owner_org_id = ANY ({WRITE_ORGS})))"
)
# A grant is seen by both sides (and never consults results or demands, so the results policy
# can look into sharing_grants without any recursion); only the owner's writers change it.
GRANT_VISIBLE = (
    f"{CALLER} AND ({UNRESTRICTED} OR sharing_grants.owner_org_id = ANY ({READ_ORGS})"
    f" OR sharing_grants.grantee_org_id = ANY ({READ_ORGS}))"
)

# table -> (read, write); UPDATE checks the write rule on the old row (USING: nobody takes
# over another organisation's row) and on the new one (WITH CHECK: nobody gives a row away).
POLICIES = {
    "results": (_visible("results", "owner_org_id"), _writable("results", "owner_org_id")),
    "demands": (_visible("demands", "enterprise_id"), _writable("demands", "enterprise_id")),
    "result_contributors": (CONTRIBUTOR_VISIBLE, CONTRIBUTOR_WRITABLE),
    "sharing_grants": (GRANT_VISIBLE, _writable("sharing_grants", "owner_org_id")),
}


def _policy_statements(table: str, read: str, write: str) -> list[str]:
    return [
        f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({read})",
        f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({write})",
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({write}) WITH CHECK ({write})",
        f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({write})",
    ]


# Roles belong to the whole cluster: create the group role only when missing, and tolerate a
# concurrent migration of another database creating it at the same moment.
CREATE_ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
"""

# Drop the group role only when nothing in any database of the cluster refers to it any more
# (pg_shdepend records privileges everywhere) and no login role is a member of it.
DROP_ROLE_IF_UNUSED = f"""
DO $$
DECLARE app oid := (SELECT oid FROM pg_roles WHERE rolname = '{APP_ROLE}');
BEGIN
  IF app IS NOT NULL
     AND NOT EXISTS (SELECT FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass
                     AND refobjid = app)
     AND NOT EXISTS (SELECT FROM pg_auth_members WHERE roleid = app) THEN
    DROP ROLE {APP_ROLE};
  END IF;
END $$
"""


def _serial_sequences(tables: tuple[str, ...]) -> list[str]:
    """The sequences that number the rows of ``tables`` (serial or identity columns)."""
    rows = op.get_bind().execute(
        text(
            "SELECT s.oid::regclass::text FROM pg_class s"
            " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid"
            " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
            " JOIN pg_class t ON t.oid = d.refobjid"
            " WHERE s.relkind = 'S' AND t.relnamespace = 'public'::regnamespace"
            " AND t.relname = ANY (:tables) ORDER BY 1"
        ),
        {"tables": list(tables)},
    )
    return [str(row[0]) for row in rows]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_ROLE)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}")
    for table, privileges in AUDIT_GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    sequences = _serial_sequences(TABLES)
    if sequences:
        op.execute(f"GRANT USAGE ON SEQUENCE {', '.join(sequences)} TO {APP_ROLE}")
    for table, (read, write) in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for statement in _policy_statements(table, read, write):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in RLS_TABLES:
        for command in ("select", "insert", "update", "delete"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    exists = op.get_bind().execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": APP_ROLE}
    )
    if exists.first() is None:
        return
    op.execute(f"REVOKE ALL ON {', '.join(TABLES + tuple(AUDIT_GRANTS))} FROM {APP_ROLE}")
    sequences = _serial_sequences(TABLES)
    if sequences:
        op.execute(f"REVOKE ALL ON SEQUENCE {', '.join(sequences)} FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {APP_ROLE}")
    op.execute(DROP_ROLE_IF_UNUSED)

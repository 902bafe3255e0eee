"""IP deadlines: priority and PCT dates on assets, and office actions, with row-level security

``ip_assets`` gains ``priority_on`` (the earliest priority claimed), ``pct_application_number``
and ``pct_filed_on`` (an international application); ``ip_office_actions`` holds the patent
office's notices that must be answered by a day. Annual fees, the Paris priority year and the
PCT national phase are computed from these dates (``ip/deadlines.py``), not stored.

On PostgreSQL the application role is granted the new table and its sequence; row-level
security is enabled and forced on it: reading and writing need the owner in ``write_orgs``
(the roles that manage the ledger), as for deals in 0006 — prosecution is the unit's business,
not its contributors'.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"
TABLE = "ip_office_actions"
ASSET_COLUMNS = ("priority_on", "pct_application_number", "pct_filed_on")


def _setting(name: str) -> str:
    return f"current_setting('shelfbridge.{name}', true)"


CALLER = f"(SELECT coalesce({_setting('actor')}, '') <> '')"
UNRESTRICTED = f"(SELECT coalesce({_setting('unrestricted')}, '') = '1')"
WRITE_ORGS = (
    f"(SELECT coalesce(string_to_array(NULLIF({_setting('write_orgs')}, ''), ',')::int[], "
    "'{}'::int[]))::int[]"
)
POLICY = f"{CALLER} AND ({UNRESTRICTED} OR {TABLE}.owner_org_id = ANY ({WRITE_ORGS}))"

GRANT_SEQUENCE = """
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {role}', pg_get_serial_sequence('{table}', 'id'));
END $$
"""


def upgrade() -> None:
    with op.batch_alter_table("ip_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pct_application_number", sa.String(60), nullable=True))
        batch_op.add_column(sa.Column("pct_filed_on", sa.Date(), nullable=True))
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_estimated", sa.Boolean(), nullable=False),
        sa.Column("responded_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(60), nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f(f"fk_{TABLE}_owner_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["ip_assets.id"],
            name=op.f(f"fk_{TABLE}_asset_id_ip_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for column in ("asset_id", "due_on", "owner_org_id"):
            batch_op.create_index(batch_op.f(f"ix_{TABLE}_{column}"), [column], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {APP_ROLE}")
    op.execute(GRANT_SEQUENCE.format(role=APP_ROLE, table=TABLE))
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {TABLE}_select ON {TABLE} FOR SELECT USING ({POLICY})")
    op.execute(f"CREATE POLICY {TABLE}_insert ON {TABLE} FOR INSERT WITH CHECK ({POLICY})")
    op.execute(
        f"CREATE POLICY {TABLE}_update ON {TABLE} FOR UPDATE USING ({POLICY}) WITH CHECK ({POLICY})"
    )
    op.execute(f"CREATE POLICY {TABLE}_delete ON {TABLE} FOR DELETE USING ({POLICY})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for command in ("select", "insert", "update", "delete"):
            op.execute(f"DROP POLICY IF EXISTS {TABLE}_{command} ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for column in ("owner_org_id", "due_on", "asset_id"):
            batch_op.drop_index(batch_op.f(f"ix_{TABLE}_{column}"))
    op.drop_table(TABLE)
    with op.batch_alter_table("ip_assets", schema=None) as batch_op:
        for column in reversed(ASSET_COLUMNS):
            batch_op.drop_column(column)

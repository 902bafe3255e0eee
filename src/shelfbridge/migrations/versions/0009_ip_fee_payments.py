"""IP fee payments: the annual fee paid for each patent year, with row-level security

``ip_fee_payments`` (``ip/fee_models.py``) holds one row per asset and patent year
(``UNIQUE (asset_id, patent_year)``): the amount and late fee paid (NUMERIC(15, 2)), the day,
the receipt number, and what the fee schedule and Implementing Rules Art. 115 expected. The
deadlines of ``ip/deadlines.py`` leave paid years out.

On PostgreSQL the application role is granted the table and its sequence; row-level security
is enabled and forced on it as on the office actions of 0007: reading and writing need the
owner in ``write_orgs`` (the roles that manage the ledger), since fee payments are the unit's
business, not its contributors'.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"
TABLE = "ip_fee_payments"


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


def _yuan(name: str, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(15, 2), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("patent_year", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        _yuan("amount", False),
        _yuan("late_fee", False),
        _yuan("expected_fee", True),
        _yuan("expected_late_fee", True),
        sa.Column("fee_rule_id", sa.String(60), nullable=True),
        sa.Column("unconfirmed", sa.Boolean(), nullable=False),
        sa.Column("restored", sa.Boolean(), nullable=False),
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
        sa.UniqueConstraint(
            "asset_id", "patent_year", name=op.f(f"uq_{TABLE}_asset_id_patent_year")
        ),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_owner_org_id"), ["owner_org_id"])
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
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_owner_org_id"))
    op.drop_table(TABLE)

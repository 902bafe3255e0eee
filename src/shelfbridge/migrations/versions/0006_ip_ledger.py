"""IP assets, deals, the income ledger and reward distributions, with row-level security

Eight tables (``ip/models.py``): assets and their contributors, the units' own reward
policies, deals, income records and their deductions, distributions and their lines. Each row
carries its owner (``owner_org_id``); ``ip_distributions.income_record_id`` is UNIQUE, so an
income record is distributed at most once even when two requests race.

On PostgreSQL the application role is granted the tables and their sequences, and row-level
security is enabled and forced on all eight, with the settings of migration 0004 and one more
fact derived from them: the person of the signed-in user (``users.person_id`` of the user named
by ``shelfbridge.actor``), so that a contributor reads the ledger of their own inventions and
nothing else.

- assets and contributors: the owner's members (``read_orgs``) and the contributors;
- deals and policies: only those who act for the owner (``write_orgs``: the same roles that
  read money fields), never the contributors (deal terms stay with the unit);
- income records, deductions and distributions: the owner's actors and the asset's
  contributors; distribution lines: the owner's actors and the contributor of the line only;
- every write: the owner in ``write_orgs`` (or unrestricted), on the old and the new row.

Contributor rows are judged on their own columns (the owner, the person), so the policies on
assets can look into contributors without recursion.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"
TABLES = (
    "ip_reward_policies",
    "ip_assets",
    "ip_asset_contributors",
    "ip_deals",
    "ip_income_records",
    "ip_deductions",
    "ip_distributions",
    "ip_distribution_lines",
)


def _setting(name: str) -> str:
    return f"current_setting('shelfbridge.{name}', true)"


CALLER = f"(SELECT coalesce({_setting('actor')}, '') <> '')"
UNRESTRICTED = f"(SELECT coalesce({_setting('unrestricted')}, '') = '1')"
# The signed-in user's person (NULL for anyone else), read once per statement.
PERSON = f"(SELECT u.person_id FROM users u WHERE 'user:' || u.username = {_setting('actor')})"


def _orgs(name: str) -> str:
    """The organisation ids of a setting as int[] (as in 0004), read once per statement."""
    return (
        f"(SELECT coalesce(string_to_array(NULLIF({_setting(name)}, ''), ',')::int[], "
        "'{}'::int[]))::int[]"
    )


def _owner_in(table: str, setting: str) -> str:
    return f"{table}.owner_org_id = ANY ({_orgs(setting)})"


def _contributes(table: str, asset_column: str = "asset_id") -> str:
    return (
        "EXISTS (SELECT 1 FROM ip_asset_contributors c"
        f" WHERE c.asset_id = {table}.{asset_column} AND c.person_id = {PERSON})"
    )


def _read(*alternatives: str) -> str:
    return f"{CALLER} AND ({UNRESTRICTED} OR {' OR '.join(alternatives)})"


def _write(table: str) -> str:
    return f"{CALLER} AND ({UNRESTRICTED} OR {_owner_in(table, 'write_orgs')})"


READ_POLICIES = {
    "ip_reward_policies": _read(_owner_in("ip_reward_policies", "write_orgs")),
    "ip_assets": _read(_owner_in("ip_assets", "read_orgs"), _contributes("ip_assets", "id")),
    "ip_asset_contributors": _read(
        _owner_in("ip_asset_contributors", "read_orgs"),
        f"ip_asset_contributors.person_id = {PERSON}",
    ),
    "ip_deals": _read(_owner_in("ip_deals", "write_orgs")),
    "ip_income_records": _read(
        _owner_in("ip_income_records", "write_orgs"), _contributes("ip_income_records")
    ),
    # Deductions follow their income record (whose policy never consults deductions).
    "ip_deductions": (
        "EXISTS (SELECT 1 FROM ip_income_records i WHERE i.id = ip_deductions.income_record_id)"
    ),
    "ip_distributions": _read(
        _owner_in("ip_distributions", "write_orgs"), _contributes("ip_distributions")
    ),
    "ip_distribution_lines": _read(
        _owner_in("ip_distribution_lines", "write_orgs"),
        f"ip_distribution_lines.person_id = {PERSON}",
    ),
}
DEDUCTION_WRITE = (
    f"{CALLER} AND EXISTS (SELECT 1 FROM ip_income_records i"
    " WHERE i.id = ip_deductions.income_record_id"
    f" AND ({UNRESTRICTED} OR i.owner_org_id = ANY ({_orgs('write_orgs')})))"
)
WRITE_POLICIES = {
    table: (DEDUCTION_WRITE if table == "ip_deductions" else _write(table)) for table in TABLES
}

GRANT_SEQUENCE = """
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {role}', pg_get_serial_sequence('{table}', 'id'));
END $$
"""


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _owner(table: str) -> list[Any]:
    return [
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        _fk(table, "owner_org_id", "organizations.id", "RESTRICT"),
    ]


def _indexes(table: str, columns: tuple[str, ...], unique: tuple[str, ...] = ()) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_{column}"), [column], unique=column in unique
            )


def _drop_indexes(table: str, columns: tuple[str, ...]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


INDEXES: dict[str, tuple[str, ...]] = {
    "ip_reward_policies": ("owner_org_id",),
    "ip_assets": ("external_id", "owner_org_id", "result_id", "status"),
    "ip_asset_contributors": ("owner_org_id", "person_id"),
    "ip_deals": ("asset_id", "counterparty_org_id", "external_id", "owner_org_id", "status"),
    "ip_income_records": ("asset_id", "deal_id", "external_id", "owner_org_id"),
    "ip_deductions": (),
    "ip_distributions": ("asset_id", "owner_org_id", "status"),
    "ip_distribution_lines": ("contributor_id", "owner_org_id", "person_id"),
}
UNIQUE_INDEXES = ("external_id",)


def _percent(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(5, 2), nullable=True)


def _create_tables() -> None:
    t = "ip_reward_policies"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        *_owner(t),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("jurisdiction", sa.String(6), nullable=False),
        sa.Column("unit_type", sa.String(30), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        _percent("net_income_percent"),
        _percent("equity_percent"),
        _percent("main_contributors_percent"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "owner_org_id", "effective_from", name=op.f(f"uq_{t}_owner_org_id_effective_from")
        ),
    )
    t = "ip_assets"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        *_owner(t),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("application_number", sa.String(60), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("granted_on", sa.Date(), nullable=True),
        sa.Column("jurisdiction", sa.String(6), nullable=False),
        sa.Column("unit_type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=False),
        *_timestamps(),
        _fk(t, "result_id", "results.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    t = "ip_asset_contributors"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        *_owner(t),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Numeric(12, 4), nullable=False),
        sa.Column("main", sa.Boolean(), nullable=False),
        _fk(t, "asset_id", "ip_assets.id", "CASCADE"),
        _fk(t, "person_id", "people.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("asset_id", "position", name=op.f(f"uq_{t}_asset_id_position")),
    )
    t = "ip_deals"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        *_owner(t),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("deal_type", sa.String(20), nullable=False),
        sa.Column("contract_type", sa.String(20), nullable=False),
        sa.Column("counterparty_org_id", sa.Integer(), nullable=True),
        sa.Column("counterparty_name", sa.String(200), nullable=False),
        sa.Column("licence_scope", sa.String(20), nullable=True),
        sa.Column("term_start", sa.Date(), nullable=True),
        sa.Column("term_end", sa.Date(), nullable=True),
        sa.Column("territory", sa.String(200), nullable=True),
        sa.Column("field_of_use", sa.String(300), nullable=True),
        sa.Column("price", sa.Numeric(15, 2), nullable=True),
        sa.Column("equity_shares", sa.BigInteger(), nullable=True),
        sa.Column("payment_mode", sa.String(20), nullable=True),
        sa.Column("price_mode", sa.String(20), nullable=False),
        sa.Column("posting_start", sa.Date(), nullable=True),
        sa.Column("posting_end", sa.Date(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("contract_number", sa.String(60), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("registration_number", sa.String(60), nullable=True),
        *_timestamps(),
        _fk(t, "asset_id", "ip_assets.id", "RESTRICT"),
        _fk(t, "counterparty_org_id", "organizations.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    t = "ip_income_records"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        *_owner(t),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(15, 2), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        sa.Column("costs", sa.Numeric(15, 2), nullable=False),
        sa.Column("net", sa.Numeric(15, 2), nullable=False),
        sa.Column("jurisdiction", sa.String(6), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_timestamps(),
        _fk(t, "asset_id", "ip_assets.id", "RESTRICT"),
        _fk(t, "deal_id", "ip_deals.id", "RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    t = "ip_deductions"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("income_record_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("amount", sa.Numeric(15, 2), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("rule_id", sa.String(60), nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        _fk(t, "income_record_id", "ip_income_records.id", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "income_record_id", "position", name=op.f(f"uq_{t}_income_record_id_position")
        ),
    )
    t = "ip_distributions"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        *_owner(t),
        sa.Column("income_record_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(10), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("pool", sa.Numeric(15, 2), nullable=False),
        sa.Column("retained", sa.Numeric(15, 2), nullable=False),
        sa.Column("pool_shares", sa.BigInteger(), nullable=True),
        sa.Column("retained_shares", sa.BigInteger(), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("second_approval", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(200), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _fk(t, "approved_by_user_id", "users.id", "SET NULL"),
        _fk(t, "asset_id", "ip_assets.id", "RESTRICT"),
        _fk(t, "income_record_id", "ip_income_records.id", "RESTRICT"),
        _fk(t, "policy_id", "ip_reward_policies.id", "RESTRICT"),
        _fk(t, "requested_by_user_id", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        # One distribution per income record, whatever the number of concurrent requests.
        sa.UniqueConstraint("income_record_id", name=op.f(f"uq_{t}_income_record_id")),
    )
    t = "ip_distribution_lines"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distribution_id", sa.Integer(), nullable=False),
        *_owner(t),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contributor_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("weight", sa.Numeric(12, 4), nullable=False),
        sa.Column("main", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.Numeric(15, 2), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        _fk(t, "contributor_id", "ip_asset_contributors.id", "RESTRICT"),
        _fk(t, "distribution_id", "ip_distributions.id", "CASCADE"),
        _fk(t, "person_id", "people.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "distribution_id",
            "contributor_id",
            name=op.f(f"uq_{t}_distribution_id_contributor_id"),
        ),
    )


def upgrade() -> None:
    _create_tables()
    for table, columns in INDEXES.items():
        if columns:
            _indexes(table, columns, UNIQUE_INDEXES)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}")
    for table in TABLES:
        op.execute(GRANT_SEQUENCE.format(role=APP_ROLE, table=table))
        read, write = READ_POLICIES[table], WRITE_POLICIES[table]
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({read})")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({write})")
        op.execute(
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE"
            f" USING ({write}) WITH CHECK ({write})"
        )
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({write})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for command in ("select", "insert", "update", "delete"):
                op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")
        # Dropping the tables drops their privileges and their sequences' with them.
    for table in reversed(TABLES):
        columns = INDEXES[table]
        if columns:
            _drop_indexes(table, tuple(reversed(columns)))
        op.drop_table(table)

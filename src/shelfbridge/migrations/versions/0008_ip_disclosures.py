"""Invention disclosures, their assessment and filing decision, with row-level security

Two tables (``ip/disclosure_models.py``): ``ip_disclosures`` (the report, its assessment and
its decision, and the asset a filing created) and ``ip_disclosure_contributors`` (inventors and
their shares). Each row carries its owner (``owner_org_id``).

On PostgreSQL the application role is granted both tables and their sequences, and row-level
security is enabled and forced on both, with the settings of migration 0004 and two facts
derived from them as in 0006: the signed-in user (``users.id``) and their person.

- disclosures are read by those who act for the owner (``write_orgs``: its officers and
  admins), and by the owner's members (``read_orgs``) who wrote the disclosure or are named in
  it; they are written by those who act for the owner, and by the member who wrote it;
- contributor rows are tenant rows: the owner's members read and write them (the application
  narrows this to the disclosure's readers and author). Judging them on their own columns lets
  the disclosures' policy look into them without recursion.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"
DISCLOSURES = "ip_disclosures"
CONTRIBUTORS = "ip_disclosure_contributors"
TABLES = (DISCLOSURES, CONTRIBUTORS)


def _setting(name: str) -> str:
    return f"current_setting('shelfbridge.{name}', true)"


CALLER = f"(SELECT coalesce({_setting('actor')}, '') <> '')"
UNRESTRICTED = f"(SELECT coalesce({_setting('unrestricted')}, '') = '1')"
USER = f"(SELECT u.id FROM users u WHERE 'user:' || u.username = {_setting('actor')})"
PERSON = f"(SELECT u.person_id FROM users u WHERE 'user:' || u.username = {_setting('actor')})"


def _owner_in(table: str, setting: str) -> str:
    orgs = (
        f"(SELECT coalesce(string_to_array(NULLIF({_setting(setting)}, ''), ',')::int[], "
        "'{}'::int[]))::int[]"
    )
    return f"{table}.owner_org_id = ANY ({orgs})"


def _policy(*alternatives: str) -> str:
    return f"{CALLER} AND ({UNRESTRICTED} OR {' OR '.join(alternatives)})"


AUTHOR = f"{DISCLOSURES}.created_by_user_id = {USER}"
NAMED = (
    f"EXISTS (SELECT 1 FROM {CONTRIBUTORS} c"
    f" WHERE c.disclosure_id = {DISCLOSURES}.id AND c.person_id = {PERSON})"
)
MEMBER = _owner_in(DISCLOSURES, "read_orgs")
READ = {
    DISCLOSURES: _policy(
        _owner_in(DISCLOSURES, "write_orgs"), f"({MEMBER} AND ({AUTHOR} OR {NAMED}))"
    ),
    CONTRIBUTORS: _policy(_owner_in(CONTRIBUTORS, "read_orgs")),
}
WRITE = {
    DISCLOSURES: _policy(_owner_in(DISCLOSURES, "write_orgs"), f"({MEMBER} AND {AUTHOR})"),
    CONTRIBUTORS: _policy(_owner_in(CONTRIBUTORS, "read_orgs")),
}

GRANT_SEQUENCE = """
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {role}', pg_get_serial_sequence('{table}', 'id'));
END $$
"""
INDEXES = {
    DISCLOSURES: (
        "asset_id",
        "created_by_user_id",
        "external_id",
        "owner_org_id",
        "result_id",
        "status",
    ),
    CONTRIBUTORS: ("disclosure_id", "owner_org_id", "person_id"),
}


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete
    )


def _create_tables() -> None:
    t = DISCLOSURES
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("technical_field", sa.String(200), nullable=True),
        sa.Column("conceived_on", sa.Date(), nullable=True),
        sa.Column("public_disclosure_on", sa.Date(), nullable=True),
        sa.Column("public_disclosure_note", sa.String(300), nullable=True),
        sa.Column("funding_source", sa.String(300), nullable=True),
        sa.Column("confidentiality", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_on", sa.Date(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("novelty", sa.String(10), nullable=True),
        sa.Column("inventive_step", sa.String(10), nullable=True),
        sa.Column("market_potential", sa.String(10), nullable=True),
        sa.Column("trl", sa.SmallInteger(), nullable=True),
        sa.Column("recommendation", sa.String(30), nullable=True),
        sa.Column("assessment_notes", sa.Text(), nullable=True),
        sa.Column("assessed_by", sa.String(200), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("decision_notes", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk(t, "owner_org_id", "organizations.id", "RESTRICT"),
        _fk(t, "result_id", "results.id", "SET NULL"),
        _fk(t, "created_by_user_id", "users.id", "SET NULL"),
        _fk(t, "asset_id", "ip_assets.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    t = CONTRIBUTORS
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("share", sa.Numeric(5, 2), nullable=False),
        sa.Column("main", sa.Boolean(), nullable=False),
        _fk(t, "disclosure_id", "ip_disclosures.id", "CASCADE"),
        _fk(t, "owner_org_id", "organizations.id", "RESTRICT"),
        _fk(t, "person_id", "people.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "disclosure_id", "position", name=op.f(f"uq_{t}_disclosure_id_position")
        ),
    )


def upgrade() -> None:
    _create_tables()
    for table, columns in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(
                    batch_op.f(f"ix_{table}_{column}"), [column], unique=column == "external_id"
                )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {APP_ROLE}")
    for table in TABLES:
        op.execute(GRANT_SEQUENCE.format(role=APP_ROLE, table=table))
        read, write = READ[table], WRITE[table]
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
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(INDEXES[table]):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
        op.drop_table(table)

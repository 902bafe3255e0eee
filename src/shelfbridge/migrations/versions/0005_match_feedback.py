"""feedback on matches, with row-level security on PostgreSQL

One table, ``match_feedback``: an organisation's verdict (interest or a reason code) on one
match. It is tenant-scoped on two sides, so on PostgreSQL row-level security is enabled and
forced on it with the settings of migration 0004 (``shelfbridge.actor``, ``unrestricted``,
``read_orgs``, ``write_orgs``):

- reading: the members of the organisation that gave the feedback (``organization_id`` in
  ``read_orgs``) and those who may change the matched record (``matched_owner_org_id`` in
  ``write_orgs``: its owner's officers, admins and enterprise users), or unrestricted callers;
- inserting, changing and deleting: only for an organisation in ``write_orgs`` (the roles that
  give feedback), and a row can be neither taken over nor given away.

The application's rules (``matching.feedback_service``) come first and are narrower (only the
author changes or deletes a row); these policies are the second wall.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"
TABLE = "match_feedback"


def _setting(name: str) -> str:
    return f"current_setting('shelfbridge.{name}', true)"


CALLER = f"(SELECT coalesce({_setting('actor')}, '') <> '')"
UNRESTRICTED = f"(SELECT coalesce({_setting('unrestricted')}, '') = '1')"


def _orgs(name: str) -> str:
    """The organisation ids of a setting as int[] (as in 0004), read once per statement."""
    return (
        f"(SELECT coalesce(string_to_array(NULLIF({_setting(name)}, ''), ',')::int[], "
        "'{}'::int[]))::int[]"
    )


READ = (
    f"{CALLER} AND ({UNRESTRICTED} OR {TABLE}.organization_id = ANY ({_orgs('read_orgs')})"
    f" OR {TABLE}.matched_owner_org_id = ANY ({_orgs('write_orgs')}))"
)
WRITE = f"{CALLER} AND ({UNRESTRICTED} OR {TABLE}.organization_id = ANY ({_orgs('write_orgs')}))"

POLICIES = [
    f"CREATE POLICY {TABLE}_select ON {TABLE} FOR SELECT USING ({READ})",
    f"CREATE POLICY {TABLE}_insert ON {TABLE} FOR INSERT WITH CHECK ({WRITE})",
    f"CREATE POLICY {TABLE}_update ON {TABLE} FOR UPDATE USING ({WRITE}) WITH CHECK ({WRITE})",
    f"CREATE POLICY {TABLE}_delete ON {TABLE} FOR DELETE USING ({WRITE})",
]
GRANT_SEQUENCE = f"""
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {APP_ROLE}',
                 pg_get_serial_sequence('{TABLE}', 'id'));
END $$
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("query_text", sa.String(length=500), nullable=True),
        sa.Column("matched_kind", sa.String(length=20), nullable=False),
        sa.Column("matched_id", sa.Integer(), nullable=False),
        sa.Column("matched_owner_org_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=30), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matched_owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_match_feedback_matched_owner_org_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_match_feedback_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_match_feedback_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_feedback")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_feedback_matched_id"), ["matched_id"])
        batch_op.create_index(
            batch_op.f("ix_match_feedback_matched_owner_org_id"), ["matched_owner_org_id"]
        )
        batch_op.create_index(batch_op.f("ix_match_feedback_organization_id"), ["organization_id"])
        batch_op.create_index(batch_op.f("ix_match_feedback_source_id"), ["source_id"])
        batch_op.create_index(batch_op.f("ix_match_feedback_user_id"), ["user_id"])

    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {APP_ROLE}")
    op.execute(GRANT_SEQUENCE)
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    for statement in POLICIES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for command in ("select", "insert", "update", "delete"):
            op.execute(f"DROP POLICY IF EXISTS {TABLE}_{command} ON {TABLE}")
        # Dropping the table drops its privileges and its sequence's with it.
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_feedback_user_id"))
        batch_op.drop_index(batch_op.f("ix_match_feedback_source_id"))
        batch_op.drop_index(batch_op.f("ix_match_feedback_organization_id"))
        batch_op.drop_index(batch_op.f("ix_match_feedback_matched_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_match_feedback_matched_id"))
    op.drop_table(TABLE)

"""The database itself keeps the audit trail append-only.

SQLite: triggers abort any UPDATE or DELETE of an event, and any move of the checkpoint
backwards. PostgreSQL: the same triggers (plus one for TRUNCATE), and UPDATE, DELETE and
TRUNCATE revoked from PUBLIC so that only the table owner could even try.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_checkpoint_forward_only BEFORE UPDATE ON audit_checkpoint
       WHEN NEW.head_seq < OLD.head_seq
       BEGIN SELECT RAISE(ABORT, 'the audit checkpoint only moves forward'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'the audit checkpoint cannot be deleted'); END""",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION shelfbridge_audit_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    """CREATE OR REPLACE FUNCTION shelfbridge_audit_checkpoint_forward() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'the audit checkpoint cannot be deleted'; END IF;
         IF NEW.head_seq < OLD.head_seq THEN
           RAISE EXCEPTION 'the audit checkpoint only moves forward';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION shelfbridge_audit_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION shelfbridge_audit_append_only()""",
    """CREATE TRIGGER audit_checkpoint_forward_only BEFORE UPDATE OR DELETE ON audit_checkpoint
       FOR EACH ROW EXECUTE FUNCTION shelfbridge_audit_checkpoint_forward()""",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC",
    "REVOKE DELETE, TRUNCATE ON audit_checkpoint FROM PUBLIC",
]


def upgrade() -> None:
    # The head row exists from the start, so that concurrent first writers lock the same row
    # instead of racing to create it.
    op.execute(
        "INSERT INTO audit_checkpoint (id, head_seq, head_hash) VALUES (1, 0, '" + "0" * 64 + "')"
    )
    statements = SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_checkpoint_forward_only",
            "audit_checkpoint_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_forward_only ON audit_checkpoint")
    op.execute("DROP FUNCTION IF EXISTS shelfbridge_audit_append_only()")
    op.execute("DROP FUNCTION IF EXISTS shelfbridge_audit_checkpoint_forward()")

"""The change counter: one number raised by every commit that changes the application's data

``change_counter`` holds one row; triggers on every table but ``security_events`` raise its
``version`` (``migrations/change_tracking.py`` says how, on each database). The application
files what it remembers from the database under that number (``core.versions``), instead of
under SQLite's ``PRAGMA data_version`` or PostgreSQL's ``pg_current_snapshot()``, which change
with every commit: the security events written every two seconds while signed-in users read
internal records made every remembered list total, page anchor and credential start afresh.

On PostgreSQL the application role may only read the counter: the trigger function runs with
its owner's rights.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shelfbridge.migrations.change_tracking import (
    CREATE_FUNCTION,
    FUNCTION,
    TABLE,
    UNTRACKED,
    track,
    untrack,
)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APP_ROLE = "shelfbridge_app"


def _tables() -> list[str]:
    names = sa.inspect(op.get_bind()).get_table_names()
    return sorted(name for name in names if name not in UNTRACKED)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_change_counter_one_row"),
        sa.PrimaryKeyConstraint("id", name="pk_change_counter"),
    )
    op.execute(f"INSERT INTO {TABLE} (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_FUNCTION)
        op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION}() FROM PUBLIC")
        role = op.get_bind().execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": APP_ROLE}
        )
        if role.first() is not None:
            op.execute(f"GRANT SELECT ON {TABLE} TO {APP_ROLE}")
    for table in _tables():
        track(table)


def downgrade() -> None:
    for table in _tables():
        untrack(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    op.drop_table(TABLE)

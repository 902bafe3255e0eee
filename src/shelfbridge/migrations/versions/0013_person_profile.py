"""People: a free-text profile (研究方向与简介)

An expert was matched by expertise keywords, title, degree and the public results they
contributed to; a person without results (most people an office registers first) had no text
to match and never appeared for "demand → experts". ``people.profile`` holds what a person
works on in their own words: research directions, projects led, services offered. It is public
like the rest of a person's record, so the matcher may show it in explanations.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), so the table keeps its triggers (0011).
    op.add_column("people", sa.Column("profile", sa.Text(), nullable=True))


def downgrade() -> None:
    # Dropped in place too (SQLite 3.35 and later), keeping the triggers.
    op.drop_column("people", "profile")

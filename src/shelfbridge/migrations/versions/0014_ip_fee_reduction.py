"""IP assets: the fee reduction (费减) the patent office approved

Most universities and public research institutes pay a fraction of a patent's annual fees for
its first years after the grant (专利收费减缴: the share waived and the years covered are data,
``reference/patent_fee_reductions.csv``). ``ip_assets.fee_reduction`` says whether the office
approved a reduction for this asset and for whom: ``sole`` (one owner), ``joint`` (joint owners,
each qualifying) or ``none`` (the default: existing assets keep the full fees they showed).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), so the table keeps its triggers (0011).
    op.add_column(
        "ip_assets",
        sa.Column("fee_reduction", sa.String(10), nullable=False, server_default="none"),
    )


def downgrade() -> None:
    # Dropped in place too (SQLite 3.35 and later), keeping the triggers.
    op.drop_column("ip_assets", "fee_reduction")

"""IP office actions: how the notice was delivered, and the day it was received

A period the patent office sets runs from the day its notice is received, not the day it was
sent: a posted notice is presumed received 15 days after it was sent, one served by public
announcement 1 month after the announcement, and one served electronically or by hand on the
day (Implementing Rules Art. 4; the days are data, ``reference/patent_service_rules.csv``).
``ip_office_actions.delivery`` says how (``electronic`` by default: existing notices keep the
days they were given) and ``received_on`` the day the party can show it received the notice.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), so the table keeps its triggers (0011).
    op.add_column(
        "ip_office_actions",
        sa.Column("delivery", sa.String(14), nullable=False, server_default="electronic"),
    )
    op.add_column("ip_office_actions", sa.Column("received_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # Dropped in place too (SQLite 3.35 and later), keeping the triggers.
    op.drop_column("ip_office_actions", "received_on")
    op.drop_column("ip_office_actions", "delivery")

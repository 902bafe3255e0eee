"""IP office actions: how the notice was delivered, the day it was received, and an extension

A period the patent office sets runs from the day its notice is received, not the day it was
sent: a posted notice is presumed received 15 days after it was sent, one served by public
announcement 1 month after the announcement, and one served electronically or by hand on the
day (Implementing Rules Art. 4; the days are data, ``reference/patent_service_rules.csv``).
``ip_office_actions.delivery`` says how (``electronic`` by default: existing notices keep the
days they were given) and ``received_on`` the day the party can show it received the notice.

A period the office designated may be extended on a request made before it ends (Art. 6(4)):
``extended_from`` keeps the due day before the extension, ``extended_months`` its length and
``extension_requested_on`` the day it was requested (all empty for a period never extended).

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
    op.add_column("ip_office_actions", sa.Column("extended_from", sa.Date(), nullable=True))
    op.add_column("ip_office_actions", sa.Column("extended_months", sa.Integer(), nullable=True))
    op.add_column(
        "ip_office_actions", sa.Column("extension_requested_on", sa.Date(), nullable=True)
    )


def downgrade() -> None:
    # Dropped in place too (SQLite 3.35 and later), keeping the triggers.
    for column in ("extension_requested_on", "extended_months", "extended_from"):
        op.drop_column("ip_office_actions", column)
    op.drop_column("ip_office_actions", "received_on")
    op.drop_column("ip_office_actions", "delivery")

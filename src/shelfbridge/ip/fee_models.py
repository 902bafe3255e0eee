"""Annual-fee payments of patents (migration 0009): one row per asset and patent year.

A row keeps what was paid (``amount``, ``late_fee``, both yuan exact to the fen) beside what
the rules expected on the day it was recorded (``expected_fee`` from the fee schedule, less
the asset's fee reduction, 费减, if one covered the year; ``expected_late_fee`` from
Implementing Rules Art. 115; ``fee_rule_id`` names the schedule's row, then the reduction's
after a "+"), so that a later change of the
schedule never rewrites a payment; ``unconfirmed`` says the expectation rests on a figure
marked U. Tenant-scoped by ``owner_org_id`` like every ledger table, and audited.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelfbridge.core.database import Base
from shelfbridge.core.models import Timestamps, Yuan
from shelfbridge.ip.models import IpAsset


class IpFeePayment(Timestamps, Base):
    """The annual fee of one patent year, paid on a day (in the grace period: with a late
    fee)."""

    __tablename__ = "ip_fee_payments"
    # One payment per year: two concurrent requests can never both record it.
    __table_args__ = (UniqueConstraint("asset_id", "patent_year"),)
    __audit_kind__ = "ip_fee_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_assets.id", ondelete="CASCADE"))
    patent_year: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Yuan())
    late_fee: Mapped[Decimal] = mapped_column(Yuan())
    expected_fee: Mapped[Decimal | None] = mapped_column(Yuan())
    expected_late_fee: Mapped[Decimal | None] = mapped_column(Yuan())
    fee_rule_id: Mapped[str | None] = mapped_column(String(60))
    unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Paid after the grace period because the right was restored (Implementing Rules Art. 6)
    restored: Mapped[bool] = mapped_column(Boolean, default=False)
    reference: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(300))

    asset: Mapped[IpAsset] = relationship()

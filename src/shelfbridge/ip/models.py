"""IP assets, deals, the income ledger and contributor reward distributions (migration 0006).

Every table is tenant-scoped by ``owner_org_id`` (the unit that owns the asset), copied onto
each row that the row-level security policies of migration 0006 must judge without a join.
Vocabularies and the asset lifecycle are data (the dictionaries below), their labels English
message ids translated by ``locale/zh/ip.po``.

Money is :class:`~shelfbridge.core.models.Yuan` (NUMERIC(15, 2), Decimal); equity rewards are
whole share counts (``BigInteger``). A distribution exists at most once per income record
(``UNIQUE (income_record_id)``), so that two concurrent requests can never both distribute it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelfbridge.core.database import Base
from shelfbridge.core.i18n import N_
from shelfbridge.core.models import Timestamps, UTCDateTime, Yuan, external_id_column
from shelfbridge.registry.models import Organization, Result

# ---------------------------------------------------------------------------- vocabularies
ASSET_KINDS: dict[str, str] = {
    "invention-patent": N_("invention patent"),
    "utility-model": N_("utility model"),
    "design": N_("design patent"),
    "software-copyright": N_("software copyright"),
    "ic-layout": N_("integrated-circuit layout design"),
    "plant-variety": N_("new plant variety"),
    "technical-secret": N_("technical secret"),
}
#: asset kind -> the patent type of the grant-reward rules (Implementing Rules Art. 93)
PATENT_TYPE_OF = {
    "invention-patent": "invention",
    "utility-model": "utility-model",
    "design": "design",
}

#: whether the patent office approved a reduction of this asset's fees (费减), and for whom;
#: the share waived and the years it covers are data (``patent_fee_reductions.csv``)
FEE_REDUCTIONS: dict[str, str] = {
    "none": N_("no fee reduction"),
    "sole": N_("fee reduction approved (sole owner)"),
    "joint": N_("fee reduction approved (joint owners)"),
}
ASSET_STATUSES: dict[str, str] = {
    "filed": N_("filed"),
    "published": N_("published"),
    "granted": N_("granted"),
    "maintained": N_("maintained"),
    "lapsed": N_("lapsed"),
    "abandoned": N_("abandoned"),
    "invalidated": N_("invalidated"),
    "transferred": N_("transferred"),
}
ALL_KINDS = frozenset(ASSET_KINDS)
REGISTERED_KINDS = ALL_KINDS - {"technical-secret"}
#: The lifecycle as data: from status -> to status -> the asset kinds that may take that step.
#: Utility models and designs are granted without a separate publication (Patent Law Art. 40),
#: so only invention patents and new plant varieties are "published" before grant. A lapsed
#: right may be restored (Implementing Rules Art. 6, within the period set there). A technical
#: secret is never filed: it starts as "maintained" (kept secret) and ends by transfer or by
#: abandonment (disclosure).
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "filed": {
        "published": frozenset({"invention-patent", "plant-variety"}),
        "granted": REGISTERED_KINDS,
        "abandoned": REGISTERED_KINDS,
    },
    "published": {
        "granted": frozenset({"invention-patent", "plant-variety"}),
        "abandoned": frozenset({"invention-patent", "plant-variety"}),
    },
    "granted": {
        "maintained": REGISTERED_KINDS,
        "lapsed": REGISTERED_KINDS,
        "invalidated": REGISTERED_KINDS - {"software-copyright"},
        "transferred": REGISTERED_KINDS,
        "abandoned": REGISTERED_KINDS,
    },
    "maintained": {
        "lapsed": REGISTERED_KINDS,
        "invalidated": REGISTERED_KINDS - {"software-copyright"},
        "transferred": ALL_KINDS,
        "abandoned": ALL_KINDS,
    },
    "lapsed": {"maintained": REGISTERED_KINDS},
    "abandoned": {},
    "invalidated": {},
    "transferred": {},
}
#: the statuses a new asset may start in, per kind (an existing right is entered as granted)
INITIAL_STATUSES: dict[str, frozenset[str]] = {
    kind: frozenset({"filed", "granted"}) for kind in REGISTERED_KINDS
} | {"technical-secret": frozenset({"maintained"})}
#: statuses in which an asset can still be the object of a new deal
DEALABLE_STATUSES = frozenset({"filed", "published", "granted", "maintained"})

DEAL_TYPES: dict[str, str] = {
    "assignment": N_("assignment"),
    "licence": N_("licence"),
    "equity": N_("equity investment"),
    "paid-sharing": N_("paid sharing (national laboratories)"),
}
#: deal type -> the reward mode of the rules (ip.rules.MODES). Paid sharing lets others use a
#: result for a fee without changing its owner, so its income is treated as licence income.
REWARD_MODE = {
    "assignment": "transfer",
    "licence": "licence",
    "equity": "equity",
    "paid-sharing": "licence",
}
LICENCE_SCOPES: dict[str, str] = {
    "exclusive": N_("exclusive licence"),
    "sole": N_("sole licence"),
    "non-exclusive": N_("non-exclusive licence"),
}
#: the five technology contracts of the Civil Code (Art. 843)
CONTRACT_TYPES: dict[str, str] = {
    "development": N_("technology development contract"),
    "transfer": N_("technology transfer contract"),
    "licensing": N_("technology licensing contract"),
    "consulting": N_("technology consulting contract"),
    "service": N_("technology service contract"),
}
#: deal type -> the contract types it can be made under (Civil Code Arts. 862–863)
ALLOWED_CONTRACTS = {
    "assignment": frozenset({"transfer"}),
    "licence": frozenset({"licensing"}),
    "equity": frozenset({"transfer", "licensing"}),
    "paid-sharing": frozenset({"licensing"}),
}
#: how the price was set (law Art. 18)
PRICE_MODES: dict[str, str] = {
    "negotiated": N_("negotiated, with public posting inside the unit"),
    "listing": N_("listing on a technology-exchange market"),
    "auction": N_("auction"),
}
#: how the price is paid (Civil Code Art. 846)
PAYMENT_MODES: dict[str, str] = {
    "lump-sum": N_("lump sum"),
    "instalments": N_("instalments"),
    "royalty": N_("royalties"),
    "royalty-entry-fee": N_("royalties plus an entry fee"),
}
DEAL_STATUSES: dict[str, str] = {
    "draft": N_("draft"),
    "signed": N_("signed"),
    "registered": N_("registered"),
}
DISTRIBUTION_STATUSES: dict[str, str] = {
    "requested": N_("requested"),
    "approved": N_("approved"),
    "paid": N_("paid"),
}


# ---------------------------------------------------------------------------- assets
class IpAsset(Timestamps, Base):
    """A patent, copyright, layout design, plant variety or technical secret of a unit."""

    __tablename__ = "ip_assets"
    __audit_kind__ = "ip_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(500))
    application_number: Mapped[str | None] = mapped_column(String(60))
    filed_on: Mapped[date | None] = mapped_column(Date)
    granted_on: Mapped[date | None] = mapped_column(Date)
    # Migration 0007: the earliest priority claimed (Patent Law Art. 29) and an international
    # (PCT) application, from which the deadlines of ``ip.deadlines`` are computed.
    priority_on: Mapped[date | None] = mapped_column(Date)
    pct_application_number: Mapped[str | None] = mapped_column(String(60))
    pct_filed_on: Mapped[date | None] = mapped_column(Date)
    # The rules that bind the owner: a GB/T 2260 code or CN, and a unit type of ip.rules.
    jurisdiction: Mapped[str] = mapped_column(String(6))
    unit_type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_on: Mapped[date] = mapped_column(Date)
    # Migration 0014: the fee reduction (费减) the office approved, a key of FEE_REDUCTIONS.
    fee_reduction: Mapped[str] = mapped_column(String(10), default="none", server_default="none")

    owner: Mapped[Organization] = relationship()
    result: Mapped[Result | None] = relationship()
    contributors: Mapped[list[IpContributor]] = relationship(
        back_populates="asset",
        cascade="all, delete-orphan",
        order_by="IpContributor.position",
    )


class IpContributor(Base):
    """One inventor or author of an asset and their weight in its rewards."""

    __tablename__ = "ip_asset_contributors"
    __table_args__ = (UniqueConstraint("asset_id", "position"),)
    __audit_parent__ = "asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("ip_assets.id", ondelete="CASCADE"))
    # Copied from the asset so that row-level security needs no join (and no recursion).
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    weight: Mapped[Decimal] = mapped_column(Numeric(12, 4, asdecimal=True))
    main: Mapped[bool] = mapped_column(Boolean, default=False)

    asset: Mapped[IpAsset] = relationship(back_populates="contributors")


class RewardPolicy(Timestamps, Base):
    """A unit's own reward rule (law Art. 44), in force from a day until the next one.

    Each percentage is checked against the floors that bind the unit when it is set and again
    when a distribution applies it (``ip.rules.check_policy``); an empty one falls back to the
    rules (``reward_rules.csv``)."""

    __tablename__ = "ip_reward_policies"
    __table_args__ = (UniqueConstraint("owner_org_id", "effective_from"),)
    __audit_kind__ = "ip_reward_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    jurisdiction: Mapped[str] = mapped_column(String(6))
    unit_type: Mapped[str] = mapped_column(String(30))
    effective_from: Mapped[date] = mapped_column(Date)
    net_income_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))
    equity_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))
    main_contributors_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))


OFFICE_ACTION_KINDS: dict[str, str] = {
    "first-examination": N_("first examination opinion"),
    "examination": N_("further examination opinion"),
    "correction": N_("notice to make corrections"),
    "loss-of-rights": N_("notice of loss of rights (restoration request)"),
    "other": N_("other notice with a time limit"),
}

#: how a notice reached the party, which decides the day its period starts from
#: (Implementing Rules Art. 4; the days are data, ``reference/patent_service_rules.csv``)
OFFICE_ACTION_DELIVERIES: dict[str, str] = {
    "electronic": N_("electronically (received the day it was sent)"),
    "post": N_("by post (presumed received 15 days after it was sent)"),
    "hand": N_("handed over (received the day it was sent)"),
    "announcement": N_("by public announcement (served 1 month after it)"),
}


class IpOfficeAction(Timestamps, Base):
    """A notice of the patent office that must be answered by a day (migration 0007)."""

    __tablename__ = "ip_office_actions"
    __audit_kind__ = "ip_office_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("ip_assets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    issued_on: Mapped[date] = mapped_column(Date)
    # how the notice reached the party, and the day it did when the party can show it (else
    # the day it counts as received follows from the delivery: migration 0015)
    delivery: Mapped[str] = mapped_column(
        String(14), default="electronic", server_default="electronic"
    )
    received_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    # an extension of the period (Art. 6(4)): the due day before it, its months, when asked
    extended_from: Mapped[date | None] = mapped_column(Date)
    extended_months: Mapped[int | None] = mapped_column(Integer)
    extension_requested_on: Mapped[date | None] = mapped_column(Date)
    # True when due_on was computed from the usual period (unconfirmed), not read on the notice
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    responded_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(300))

    asset: Mapped[IpAsset] = relationship()


# ---------------------------------------------------------------------------- deals
class Deal(Timestamps, Base):
    """An assignment, licence, equity investment or paid sharing of one asset."""

    __tablename__ = "ip_deals"
    __audit_kind__ = "ip_deal"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("ip_assets.id", ondelete="RESTRICT"), index=True
    )
    deal_type: Mapped[str] = mapped_column(String(20))
    contract_type: Mapped[str] = mapped_column(String(20))
    counterparty_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    counterparty_name: Mapped[str] = mapped_column(String(200))
    licence_scope: Mapped[str | None] = mapped_column(String(20))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    territory: Mapped[str | None] = mapped_column(String(200))
    field_of_use: Mapped[str | None] = mapped_column(String(300))
    price: Mapped[Decimal | None] = mapped_column(Yuan())
    equity_shares: Mapped[int | None] = mapped_column(BigInteger)
    payment_mode: Mapped[str | None] = mapped_column(String(20))
    price_mode: Mapped[str] = mapped_column(String(20))
    posting_start: Mapped[date | None] = mapped_column(Date)
    posting_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    contract_number: Mapped[str | None] = mapped_column(String(60))
    signed_on: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date | None] = mapped_column(Date)
    registration_number: Mapped[str | None] = mapped_column(String(60))

    asset: Mapped[IpAsset] = relationship()
    counterparty: Mapped[Organization | None] = relationship(foreign_keys=[counterparty_org_id])


# ---------------------------------------------------------------------------- the ledger
class IncomeRecord(Timestamps, Base):
    """Money (or, for an equity deal, shares) received under a deal, with its deductions.

    ``costs`` is what the owner's definition of net income lets it take off (never more than
    the amount), ``net`` the rest: ``amount = costs + net``. The asset and the reward mode are
    copied from the deal so that a contributor's statement never needs the deal's terms."""

    __tablename__ = "ip_income_records"
    __audit_kind__ = "ip_income_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    deal_id: Mapped[int] = mapped_column(ForeignKey("ip_deals.id", ondelete="RESTRICT"), index=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("ip_assets.id", ondelete="RESTRICT"), index=True
    )
    mode: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Yuan())
    shares: Mapped[int | None] = mapped_column(BigInteger)
    costs: Mapped[Decimal] = mapped_column(Yuan())
    net: Mapped[Decimal] = mapped_column(Yuan())
    jurisdiction: Mapped[str] = mapped_column(String(6))
    note: Mapped[str | None] = mapped_column(Text)

    deal: Mapped[Deal] = relationship()
    asset: Mapped[IpAsset] = relationship()
    deductions: Mapped[list[Deduction]] = relationship(
        back_populates="income_record",
        cascade="all, delete-orphan",
        order_by="Deduction.position",
    )


class Deduction(Base):
    """One deduction claimed against an income record; ``allowed`` says whether the owner's
    definition of net income takes it (``rule_id``: the row of net_income_rules.csv)."""

    __tablename__ = "ip_deductions"
    __table_args__ = (UniqueConstraint("income_record_id", "position"),)
    __audit_parent__ = "income_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    income_record_id: Mapped[int] = mapped_column(
        ForeignKey("ip_income_records.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Yuan())
    allowed: Mapped[bool] = mapped_column(Boolean)
    rule_id: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(300))

    income_record: Mapped[IncomeRecord] = relationship(back_populates="deductions")


class Distribution(Timestamps, Base):
    """The reward pool of one income record, split among the asset's contributors.

    ``pool + retained = net`` (or, for shares, ``pool_shares + retained_shares = shares``);
    ``rules`` lists every rule in force that was considered, with its source, and whether it
    was applied. Requested, then approved (by another user than the requester when
    ``second_approval`` is set), then paid, each step once."""

    __tablename__ = "ip_distributions"
    __audit_kind__ = "ip_distribution"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    income_record_id: Mapped[int] = mapped_column(
        ForeignKey("ip_income_records.id", ondelete="RESTRICT"), unique=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("ip_assets.id", ondelete="RESTRICT"), index=True
    )
    basis: Mapped[str] = mapped_column(String(10))  # statute | policy
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("ip_reward_policies.id", ondelete="RESTRICT")
    )
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2, asdecimal=True))
    pool: Mapped[Decimal] = mapped_column(Yuan())
    retained: Mapped[Decimal] = mapped_column(Yuan())
    pool_shares: Mapped[int | None] = mapped_column(BigInteger)
    retained_shares: Mapped[int | None] = mapped_column(BigInteger)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    second_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by: Mapped[str | None] = mapped_column(String(200))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    income_record: Mapped[IncomeRecord] = relationship()
    lines: Mapped[list[DistributionLine]] = relationship(
        back_populates="distribution",
        cascade="all, delete-orphan",
        order_by="DistributionLine.position",
    )


class DistributionLine(Base):
    """One contributor's part of a distribution: yuan exact to the fen, or shares."""

    __tablename__ = "ip_distribution_lines"
    __table_args__ = (UniqueConstraint("distribution_id", "contributor_id"),)
    __audit_parent__ = "distribution"

    id: Mapped[int] = mapped_column(primary_key=True)
    distribution_id: Mapped[int] = mapped_column(
        ForeignKey("ip_distributions.id", ondelete="CASCADE")
    )
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    # A payout goes only to a contributor of the asset (the foreign key), whose name, person
    # and weight are copied so that a later change of the asset never rewrites a payout.
    contributor_id: Mapped[int] = mapped_column(
        ForeignKey("ip_asset_contributors.id", ondelete="RESTRICT"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    weight: Mapped[Decimal] = mapped_column(Numeric(12, 4, asdecimal=True))
    main: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[Decimal] = mapped_column(Yuan())
    shares: Mapped[int | None] = mapped_column(BigInteger)

    distribution: Mapped[Distribution] = relationship(back_populates="lines")


# Disclosures (migration 0008) live in their own module; importing it here keeps the metadata
# complete wherever the ledger's models are loaded (core/schema.py, Alembic).
from shelfbridge.ip import disclosure_models as _disclosures  # noqa: E402, F401

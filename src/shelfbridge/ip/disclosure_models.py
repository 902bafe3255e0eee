"""Invention disclosures (发明披露), their assessment and the filing decision (migrations 0008,
0012).

A disclosure belongs to the researchers' unit (``owner_org_id``, copied onto each contributor
row). The persons linked to its inventors are also kept on the disclosure itself
(``named_person_ids``, set with the rows by :meth:`Disclosure.name_inventors`), so that the
row-level security of migration 0012 reads who is named without looking into the contributors,
whose own policies look into their disclosure. The workflow and the vocabularies are data,
their labels English message ids translated by ``locale/zh/ip_disclosures.po``. A filing
decision creates the IP asset through the ledger's own service and keeps its id here
(``asset_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelfbridge.core.database import Base
from shelfbridge.core.i18n import N_
from shelfbridge.core.models import Timestamps, external_id_column
from shelfbridge.ip.models import IpAsset
from shelfbridge.registry.models import Organization, Result

DISCLOSURE_STATUSES: dict[str, str] = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "under-assessment": N_("under assessment"),
    "assessed": N_("assessed"),
    "decided": N_("decided"),
    "withdrawn": N_("withdrawn"),
}
#: who may take a step: the author of the disclosure (the researcher who created it) or the
#: unit's officers and admins (``ip.manage``); officers may always do what the author may.
AUTHOR = "author"
OFFICER = "officer"
#: The workflow as data: from status -> to status -> who may take the step. "assessed" and
#: "decided" are reached only by recording an assessment or a decision, which carry data.
DISCLOSURE_TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"submitted": AUTHOR, "withdrawn": AUTHOR},
    "submitted": {"under-assessment": OFFICER, "withdrawn": AUTHOR},
    "under-assessment": {"assessed": OFFICER},
    "assessed": {"decided": OFFICER},
    "decided": {},
    "withdrawn": {},
}
#: the steps taken by a plain transition (no assessment or decision data)
SIMPLE_STEPS = ("submitted", "under-assessment", "withdrawn")

CONFIDENTIALITY: dict[str, str] = {
    "internal": N_("internal (the unit's officers and the inventors)"),
    "confidential": N_("confidential (may need a secrecy examination)"),
}
RATINGS: dict[str, str] = {"high": N_("high"), "medium": N_("medium"), "low": N_("low")}
RECOMMENDATIONS: dict[str, str] = {
    "invention-patent": N_("file an invention patent"),
    "utility-model": N_("file a utility model"),
    "software-copyright": N_("register a software copyright"),
    "technical-secret": N_("keep as a technical secret"),
    "publish": N_("publish"),
    "release": N_("release to the inventors"),
    "do-not-pursue": N_("do not pursue"),
}
DECISIONS: dict[str, str] = {
    "file": N_("file an application"),
    "keep-secret": N_("keep as a technical secret"),
    "release": N_("release to the inventors"),
    "drop": N_("drop"),
}
#: asset kinds a filing decision may choose (everything registered; a secret is "keep-secret")
FILING_KINDS = (
    "invention-patent",
    "utility-model",
    "design",
    "software-copyright",
    "ic-layout",
    "plant-variety",
)
#: Patent Law (2020) Art. 24: a disclosure within six months before filing keeps novelty, but
#: only in the four cases it lists. The law states no grace period for other disclosures.
GRACE_MONTHS = 6


class InventorLike(Protocol):
    """An inventor as read from a form or a body (``disclosure_inputs.Inventor``)."""

    @property
    def name(self) -> str: ...
    @property
    def share(self) -> Decimal: ...
    @property
    def main(self) -> bool: ...
    @property
    def person_id(self) -> int | None: ...


def listed_person_ids(person_ids: Iterable[int | None]) -> str:
    """The persons as ``named_person_ids`` holds them: ascending ids between commas, with a comma
    at each end (``",3,17,"``), or ``""`` for none. PostgreSQL's policy splits it with
    ``string_to_array``; a ``LIKE '%,17,%'`` finds one person on any database."""
    ids = sorted({ident for ident in person_ids if ident is not None})
    return f",{','.join(str(ident) for ident in ids)}," if ids else ""


class Disclosure(Timestamps, Base):
    """A researcher's report of an invention to the unit, assessed and decided by its office."""

    __tablename__ = "ip_disclosures"
    __audit_kind__ = "ip_disclosure"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    result_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str] = mapped_column(Text)
    technical_field: Mapped[str | None] = mapped_column(String(200))
    conceived_on: Mapped[date | None] = mapped_column(Date)
    public_disclosure_on: Mapped[date | None] = mapped_column(Date)
    public_disclosure_note: Mapped[str | None] = mapped_column(String(300))
    funding_source: Mapped[str | None] = mapped_column(String(300))
    confidentiality: Mapped[str] = mapped_column(String(20), default="internal")
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    status_on: Mapped[date] = mapped_column(Date)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    # The author: a researcher edits, submits and withdraws only their own disclosures.
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    # The assessment (one per disclosure, by an officer)
    novelty: Mapped[str | None] = mapped_column(String(10))
    inventive_step: Mapped[str | None] = mapped_column(String(10))
    market_potential: Mapped[str | None] = mapped_column(String(10))
    trl: Mapped[int | None] = mapped_column(SmallInteger)
    recommendation: Mapped[str | None] = mapped_column(String(30))
    assessment_notes: Mapped[str | None] = mapped_column(Text)
    assessed_by: Mapped[str | None] = mapped_column(String(200))
    assessed_on: Mapped[date | None] = mapped_column(Date)
    # The decision (by an officer); a filing or a secret creates the asset named here
    decision: Mapped[str | None] = mapped_column(String(20))
    decision_notes: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_on: Mapped[date | None] = mapped_column(Date)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("ip_assets.id", ondelete="SET NULL"), index=True
    )
    # The persons linked to the inventors (:func:`listed_person_ids`), for the read policy of
    # migration 0012; always set together with the rows (:meth:`name_inventors`).
    named_person_ids: Mapped[str] = mapped_column(Text, default="", server_default="")

    owner: Mapped[Organization] = relationship()
    result: Mapped[Result | None] = relationship()
    asset: Mapped[IpAsset | None] = relationship()
    contributors: Mapped[list[DisclosureContributor]] = relationship(
        back_populates="disclosure",
        cascade="all, delete-orphan",
        order_by="DisclosureContributor.position",
    )

    def name_inventors(self, inventors: Sequence[InventorLike]) -> None:
        """Make these the inventors, in this order, and the persons named with them
        (``named_person_ids``): the only way the application sets either, so they agree.

        The rows already there are changed in place, position by position; only the positions
        added are inserted and only those dropped are deleted. Deleting every row and inserting
        new ones would insert first (the ORM's order) and break ``(disclosure_id, position)``.
        """
        rows = list(self.contributors)
        for position, inventor in enumerate(inventors):
            if position == len(rows):
                rows.append(DisclosureContributor(position=position))
            row = rows[position]
            row.owner_org_id = self.owner_org_id
            row.name = inventor.name
            row.person_id = inventor.person_id
            row.share = inventor.share
            row.main = inventor.main
        self.contributors = rows[: len(inventors)]
        self.named_person_ids = listed_person_ids(i.person_id for i in inventors)


class DisclosureContributor(Base):
    """One inventor named in a disclosure and their share in percent (shares sum to 100)."""

    __tablename__ = "ip_disclosure_contributors"
    __table_args__ = (UniqueConstraint("disclosure_id", "position"),)
    __audit_parent__ = "disclosure"

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(
        ForeignKey("ip_disclosures.id", ondelete="CASCADE"), index=True
    )
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    share: Mapped[Decimal] = mapped_column(Numeric(5, 2, asdecimal=True))
    main: Mapped[bool] = mapped_column(Boolean, default=False)

    disclosure: Mapped[Disclosure] = relationship(back_populates="contributors")

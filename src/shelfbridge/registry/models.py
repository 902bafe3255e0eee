"""The ACE registry: regions, organisations, people, results (成果) and demands (技术需求)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelfbridge.core.database import Base
from shelfbridge.core.models import Timestamps, Yuan, external_id_column
from shelfbridge.registry import vocabularies as v


# ---- reference data (loaded by `shelfbridge init`, versioned by source, not audited) ----
class Region(Base):
    """A GB/T 2260 administrative division: province, city (prefecture) or county."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(10))  # province | city | county
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    source: Mapped[str] = mapped_column(String(200))


class CityCluster(Base):
    """A city cluster (城市群) of a national plan; §8 of the domain rules."""

    __tablename__ = "city_clusters"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    tier: Mapped[int] = mapped_column(Integer)
    plan_doc: Mapped[str] = mapped_column(String(200))
    plan_year: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[str] = mapped_column(String(1))  # C | S | U as in domain-rules.md
    source: Mapped[str] = mapped_column(String(300))
    members: Mapped[list[ClusterMember]] = relationship(
        back_populates="cluster", cascade="all, delete-orphan"
    )


class ClusterMember(Base):
    __tablename__ = "city_cluster_members"

    cluster_key: Mapped[str] = mapped_column(ForeignKey("city_clusters.key"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    coverage: Mapped[str] = mapped_column(String(10))  # whole | partial
    # Confidence varies inside one cluster (a member city may be [U] where the rest is [S]).
    confidence: Mapped[str] = mapped_column(String(1))
    source: Mapped[str] = mapped_column(String(300))
    cluster: Mapped[CityCluster] = relationship(back_populates="members")


class ReferenceTerm(Base):
    """A row of a small coded vocabulary kept as data: TRL labels, GB/T 4754 sections, …"""

    __tablename__ = "reference_terms"

    vocabulary: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(300))
    label_en: Mapped[str] = mapped_column(String(300))
    confidence: Mapped[str] = mapped_column(String(1))
    source: Mapped[str] = mapped_column(String(300))


# ---- domain records (every change is an audit event) ----
class Organization(Timestamps, Base):
    __tablename__ = "organizations"
    __audit_kind__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    website: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)

    # Loaded on demand; lists and pages say what they need through repository.LOAD_OPTIONS.
    region: Mapped[Region | None] = relationship()
    parent: Mapped[Organization | None] = relationship(remote_side=[id])


class Person(Timestamps, Base):
    __tablename__ = "people"
    __audit_kind__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    name: Mapped[str] = mapped_column(String(100), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(30))
    degree: Mapped[str | None] = mapped_column(String(20))
    expertise: Mapped[list[str]] = mapped_column(JSON, default=list)
    # what the person works on in their own words (research directions, projects led): public,
    # and the text the matcher finds an expert by when they have no public results
    profile: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(200))

    organization: Mapped[Organization | None] = relationship()


class Result(Timestamps, Base):
    """A research result (科技成果): paper, patent, software, variety, prototype, …"""

    __tablename__ = "results"
    __audit_kind__ = "result"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    kind: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    discipline: Mapped[str | None] = mapped_column(String(100), index=True)
    ipc_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    trl: Mapped[int | None] = mapped_column(Integer, index=True)
    owner_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    confidentiality: Mapped[str] = mapped_column(String(10), default=v.PUBLIC, index=True)
    status: Mapped[str] = mapped_column(String(20), default="available", index=True)

    owner: Mapped[Organization | None] = relationship()
    contributors: Mapped[list[ResultContributor]] = relationship(
        back_populates="result",
        cascade="all, delete-orphan",
        order_by="ResultContributor.position",
    )


class ResultContributor(Base):
    """One contributor to a result and their share in percent (shares sum to 100)."""

    __tablename__ = "result_contributors"
    __audit_parent__ = "result"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    share: Mapped[Decimal] = mapped_column(Numeric(5, 2, asdecimal=True))

    result: Mapped[Result] = relationship(back_populates="contributors")
    person: Mapped[Person | None] = relationship()


class Demand(Timestamps, Base):
    """A technology demand (技术需求) posted by an enterprise."""

    __tablename__ = "demands"
    __audit_kind__ = "demand"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = external_id_column()
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(String(4), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    budget_min: Mapped[Decimal | None] = mapped_column(Yuan())
    budget_max: Mapped[Decimal | None] = mapped_column(Yuan())
    deadline: Mapped[date | None] = mapped_column(Date)
    confidentiality: Mapped[str] = mapped_column(String(10), default=v.PUBLIC, index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)

    enterprise: Mapped[Organization] = relationship()
    region: Mapped[Region | None] = relationship()


DOMAIN_MODELS: dict[str, Any] = {
    "organizations": Organization,
    "people": Person,
    "results": Result,
    "demands": Demand,
}

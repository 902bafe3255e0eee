"""Registry records → :class:`~shelfbridge.matching.types.MatchDocument`: what the matcher
indexes for each target, and nothing more.

- **results**: title, keywords and abstract; attributes kind, the owner's region and kind,
  TRL, discipline (for the user's filter only: never matched text), owner, confidentiality,
  status.
- **demands**: title and description; attributes industry, region (the demand's own, else
  the enterprise's), the enterprise (owner), confidentiality, status.
- **people** (experts): expertise keywords, their research profile, title and degree (in both
  languages), and the titles and keywords of the *public* results they contributed to. Their
  name is not matched text (a name says nothing about what a person can solve).
- **organisations** (labs, enterprises, …): name, description and the titles and keywords of
  their *public* results; for enterprises also the titles of their *public* demands.

A person's or organisation's text is shown in explanations to anyone, so it never takes
text from a record that is not public: that would leak it. Their attributes are public too.

Records are read as they are stored, without the caller's visibility: the index holds every
record and the service filters by the caller's scope (and re-checks the final hits in the
database). On PostgreSQL the caller must be unrestricted (the sync and the rebuild act as the
system) or row-level security hides rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from shelfbridge.core.i18n import translate
from shelfbridge.matching.types import MatchAttributes, MatchDocument, Target
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.models import Demand, Organization, Person, Result, ResultContributor

#: how many public results (and demands) at most feed one person's or organisation's text,
#: the most recent first: enough to say what they work on, bounded for large universities
MAX_RELATED = 100
BATCH = 500

#: the organisation kinds that count as labs for "demand → labs"
LAB_KINDS = ("university", "research_institute", "national_lab", "state_key_lab")
ENTERPRISE_KINDS = ("enterprise",)

MODELS: dict[Target, type[Any]] = {
    Target.RESULTS: Result,
    Target.DEMANDS: Demand,
    Target.PEOPLE: Person,
    Target.ORGANIZATIONS: Organization,
}


def _label(vocabulary: dict[str, str], code: str | None) -> str:
    """A coded value in both languages ("教授 Professor"), so either language matches it."""
    if not code or code not in vocabulary:
        return ""
    english = vocabulary[code]
    chinese = translate(english, "zh")
    return english if chinese == english else f"{chinese} {english}"


def _keywords(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(str(k).strip() for k in value if str(k).strip())


def _related_line(title: str, keywords: Any) -> str:
    words = _keywords(keywords)
    return f"{title}（{'；'.join(words)}）" if words else title


def record_ids(session: Session, target: Target, after: int = 0, limit: int = BATCH) -> list[int]:
    """The next ``limit`` record ids of a target after ``after``, in id order."""
    model = MODELS[Target(target)]
    statement = select(model.id).where(model.id > after).order_by(model.id).limit(limit)
    return [int(i) for i in session.scalars(statement)]


def count_records(session: Session, target: Target) -> int:
    model = MODELS[Target(target)]
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def iter_documents(
    session: Session, target: Target, batch: int = BATCH
) -> Iterator[list[MatchDocument]]:
    """Every record of a target, as documents, ``batch`` at a time (for a rebuild)."""
    after = 0
    while True:
        ids = record_ids(session, target, after, batch)
        if not ids:
            return
        yield load_documents(session, target, ids)
        after = ids[-1]


def load_documents(session: Session, target: Target, ids: Sequence[int]) -> list[MatchDocument]:
    """The documents of these records, in id order; ids that no longer exist are left out."""
    if not ids:
        return []
    loaders = {
        Target.RESULTS: _results,
        Target.DEMANDS: _demands,
        Target.PEOPLE: _people,
        Target.ORGANIZATIONS: _organizations,
    }
    documents = loaders[Target(target)](session, sorted({int(i) for i in ids}))
    return sorted(documents, key=lambda d: d.record_id)


# ---------------------------------------------------------------- results and demands
def _results(session: Session, ids: list[int]) -> list[MatchDocument]:
    owner = aliased(Organization)
    statement = (
        select(
            Result.id,
            Result.external_id,
            Result.title,
            Result.abstract,
            Result.keywords,
            Result.kind,
            Result.trl,
            Result.discipline,
            Result.owner_org_id,
            Result.confidentiality,
            Result.status,
            owner.region_code,
            owner.kind,
        )
        .outerjoin(owner, owner.id == Result.owner_org_id)
        .where(Result.id.in_(ids))
    )
    documents = []
    for row in session.execute(statement):
        documents.append(
            MatchDocument(
                target=Target.RESULTS,
                record_id=int(row[0]),
                external_id=str(row[1]),
                title=row[2] or "",
                body=row[3] or "",
                keywords=_keywords(row[4]),
                attributes=MatchAttributes(
                    kind=row[5],
                    region_code=row[11],
                    trl=row[6],
                    discipline=row[7],
                    org_kind=row[12],
                    owner_org_id=row[8],
                    confidentiality=row[9] or v.PUBLIC,
                    status=row[10],
                ),
            )
        )
    return documents


def _demands(session: Session, ids: list[int]) -> list[MatchDocument]:
    enterprise = aliased(Organization)
    statement = (
        select(
            Demand.id,
            Demand.external_id,
            Demand.title,
            Demand.description,
            Demand.industry,
            Demand.region_code,
            Demand.enterprise_id,
            Demand.confidentiality,
            Demand.status,
            enterprise.region_code,
            enterprise.kind,
        )
        .join(enterprise, enterprise.id == Demand.enterprise_id)
        .where(Demand.id.in_(ids))
    )
    documents = []
    for row in session.execute(statement):
        documents.append(
            MatchDocument(
                target=Target.DEMANDS,
                record_id=int(row[0]),
                external_id=str(row[1]),
                title=row[2] or "",
                body=row[3] or "",
                attributes=MatchAttributes(
                    region_code=row[5] or row[9],
                    industry=row[4],
                    org_kind=row[10],
                    owner_org_id=row[6],
                    confidentiality=row[7] or v.PUBLIC,
                    status=row[8],
                ),
            )
        )
    return documents


# ---------------------------------------------------------------- people and organisations
def _limited(statement: Any, partition: Any, order: Any) -> Any:
    """At most MAX_RELATED rows per ``partition``, the first by ``order``."""
    numbered = statement.add_columns(
        func.row_number().over(partition_by=partition, order_by=order).label("position")
    ).subquery()
    return select(numbered).where(numbered.c.position <= MAX_RELATED)


def _public_results_of_people(session: Session, ids: list[int]) -> dict[int, list[str]]:
    statement = (
        select(ResultContributor.person_id, Result.title, Result.keywords, Result.id)
        .join(Result, Result.id == ResultContributor.result_id)
        .where(ResultContributor.person_id.in_(ids), Result.confidentiality == v.PUBLIC)
    )
    lines: dict[int, list[str]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    limited = _limited(statement, ResultContributor.person_id, Result.id.desc())
    for row in session.execute(limited):
        key = (int(row.person_id), int(row.id))
        if key in seen:  # listed twice as a contributor of the same result
            continue
        seen.add(key)
        lines[int(row.person_id)].append(_related_line(row.title, row.keywords))
    return lines


def _people(session: Session, ids: list[int]) -> list[MatchDocument]:
    employer = aliased(Organization)
    statement = (
        select(
            Person.id,
            Person.external_id,
            Person.title,
            Person.degree,
            Person.expertise,
            Person.organization_id,
            Person.profile,
            employer.region_code,
            employer.kind,
        )
        .outerjoin(employer, employer.id == Person.organization_id)
        .where(Person.id.in_(ids))
    )
    related = _public_results_of_people(session, ids)
    documents = []
    for row in session.execute(statement):
        ident = int(row.id)
        rank = " ".join(
            p for p in (_label(v.TITLES, row.title), _label(v.DEGREES, row.degree)) if p
        )
        body = "\n".join(p for p in (row.profile or "", rank, *related.get(ident, [])) if p)
        documents.append(
            MatchDocument(
                target=Target.PEOPLE,
                record_id=ident,
                external_id=str(row.external_id),
                title="",  # the name is not matched text
                body=body,
                keywords=_keywords(row.expertise),
                attributes=MatchAttributes(
                    region_code=row.region_code,  # the employer's
                    org_kind=row.kind,  # the employer's
                    owner_org_id=row.organization_id,
                ),
            )
        )
    return documents


def _public_results_of_organizations(session: Session, ids: list[int]) -> dict[int, list[str]]:
    statement = select(Result.owner_org_id, Result.title, Result.keywords).where(
        Result.owner_org_id.in_(ids), Result.confidentiality == v.PUBLIC
    )
    lines: dict[int, list[str]] = defaultdict(list)
    for row in session.execute(_limited(statement, Result.owner_org_id, Result.id.desc())):
        lines[int(row.owner_org_id)].append(_related_line(row.title, row.keywords))
    return lines


def _public_demands_of_enterprises(session: Session, ids: list[int]) -> dict[int, list[str]]:
    statement = select(Demand.enterprise_id, Demand.title).where(
        Demand.enterprise_id.in_(ids), Demand.confidentiality == v.PUBLIC
    )
    lines: dict[int, list[str]] = defaultdict(list)
    for row in session.execute(_limited(statement, Demand.enterprise_id, Demand.id.desc())):
        lines[int(row.enterprise_id)].append(str(row.title))
    return lines


def _organizations(session: Session, ids: list[int]) -> list[MatchDocument]:
    statement = select(
        Organization.id,
        Organization.external_id,
        Organization.name,
        Organization.name_en,
        Organization.description,
        Organization.kind,
        Organization.region_code,
    ).where(Organization.id.in_(ids))
    results = _public_results_of_organizations(session, ids)
    demands = _public_demands_of_enterprises(session, ids)
    documents = []
    for row in session.execute(statement):
        ident = int(row[0])
        title = " ".join(p for p in (row[2], row[3]) if p)
        body = "\n".join(
            p for p in (row[4] or "", *results.get(ident, []), *demands.get(ident, [])) if p
        )
        documents.append(
            MatchDocument(
                target=Target.ORGANIZATIONS,
                record_id=ident,
                external_id=str(row[1]),
                title=title,
                body=body,
                attributes=MatchAttributes(
                    kind=row[5],
                    region_code=row[6],
                    org_kind=row[5],
                    owner_org_id=ident,
                ),
            )
        )
    return documents

"""Queries of the registry, and the database-backed resolver of references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from shelfbridge.accounts import security
from shelfbridge.accounts.visibility import (
    NON_PUBLIC,
    PUBLIC_PART,
    kind_of,
    visible_clause,
    visible_parts,
)
from shelfbridge.registry.models import (
    Demand,
    Organization,
    Person,
    ReferenceTerm,
    Region,
    Result,
    ResultContributor,
)

# What a page of each kind shows besides its own columns, loaded in as few queries as possible.
LOAD_OPTIONS: dict[type[Any], tuple[Any, ...]] = {
    Organization: (joinedload(Organization.region), joinedload(Organization.parent)),
    Person: (joinedload(Person.organization),),
    Result: (
        joinedload(Result.owner),
        selectinload(Result.contributors).joinedload(ResultContributor.person),
    ),
    Demand: (joinedload(Demand.enterprise), joinedload(Demand.region)),
}


def note_reads(model: type[Any], records: list[Any]) -> None:
    kind = kind_of(model)
    if kind is not None:
        security.note_reads(kind, records)


def region_prefix(code: str) -> str:
    """The code prefix shared by a region and everything inside it (110000 → 11)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


class DatabaseResolver:
    """Resolves references against the database, caching what it has looked up."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._organizations: dict[str, tuple[int, str] | None] = {}
        self._people: dict[str, int | None] = {}
        self._regions: set[str] | None = None
        self._terms: set[tuple[str, str]] | None = None

    def organization(self, external_id: str) -> tuple[int, str] | None:
        if external_id not in self._organizations:
            row = self.session.execute(
                select(Organization.id, Organization.kind).where(
                    Organization.external_id == external_id
                )
            ).first()
            self._organizations[external_id] = (row[0], row[1]) if row else None
        return self._organizations[external_id]

    def person(self, external_id: str) -> int | None:
        if external_id not in self._people:
            self._people[external_id] = self.session.scalar(
                select(Person.id).where(Person.external_id == external_id)
            )
        return self._people[external_id]

    def region_exists(self, code: str) -> bool:
        if self._regions is None:
            self._regions = set(self.session.scalars(select(Region.code)))
        return code in self._regions

    def term_exists(self, vocabulary: str, code: str) -> bool:
        if self._terms is None:
            self._terms = {
                (row[0], row[1])
                for row in self.session.execute(
                    select(ReferenceTerm.vocabulary, ReferenceTerm.code)
                )
            }
        return (vocabulary, code) in self._terms

    def remember_organization(self, external_id: str, ident: int, kind: str) -> None:
        self._organizations[external_id] = (ident, kind)


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    limit: int
    offset: int


def _contains(column: Any, text: str) -> Any:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def filtered(model: type[Any], filters: dict[str, Any]) -> Select[Any]:
    """A SELECT of one kind narrowed to what the current actor may see and by the filters
    its list accepts."""
    return narrowed(model, filters).where(visible_clause(model))


def count_filtered(session: Session, model: type[Any], filters: dict[str, Any]) -> int:
    """How many rows ``filtered`` would give, counted part by part on indexes."""
    ids = narrowed(model, filters).with_only_columns(model.id)
    total = 0
    for part in visible_parts(model):
        if part is PUBLIC_PART.get(model) and not any(
            v not in (None, "") for v in filters.values()
        ):
            # Counting a whole table is nearly free on both databases' fast paths; counting
            # the public rows entry by entry is not, and almost every row is public.
            total += _count(session, select(model.id)) - _count(
                session, select(model.id).where(model.confidentiality.in_(NON_PUBLIC))
            )
            continue
        total += _count(session, ids.where(part))
    return total


def _count(session: Session, statement: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


def narrowed(model: type[Any], filters: dict[str, Any]) -> Select[Any]:
    """A SELECT of one kind narrowed by the filters its list accepts (visibility not applied:
    callers add it)."""
    statement = select(model)
    q = filters.get("q")
    if model is Result:
        if q:
            statement = statement.where(
                or_(_contains(Result.title, q), _contains(Result.discipline, q))
            )
        for name in ("kind", "status", "confidentiality", "discipline"):
            if filters.get(name):
                statement = statement.where(getattr(Result, name) == filters[name])
        if filters.get("trl_min") is not None:
            statement = statement.where(Result.trl >= filters["trl_min"])
        if filters.get("trl_max") is not None:
            statement = statement.where(Result.trl <= filters["trl_max"])
        if filters.get("owner_id") is not None:
            statement = statement.where(Result.owner_org_id == filters["owner_id"])
    elif model is Demand:
        if q:
            statement = statement.where(_contains(Demand.title, q))
        for name in ("industry", "status", "confidentiality"):
            if filters.get(name):
                statement = statement.where(getattr(Demand, name) == filters[name])
        if filters.get("region"):
            statement = statement.where(
                Demand.region_code.startswith(region_prefix(filters["region"]))
            )
        if filters.get("enterprise_id") is not None:
            statement = statement.where(Demand.enterprise_id == filters["enterprise_id"])
    elif model is Organization:
        if q:
            statement = statement.where(
                or_(_contains(Organization.name, q), _contains(Organization.name_en, q))
            )
        if filters.get("kind"):
            statement = statement.where(Organization.kind == filters["kind"])
        if filters.get("region"):
            statement = statement.where(
                Organization.region_code.startswith(region_prefix(filters["region"]))
            )
        if filters.get("parent_id") is not None:
            statement = statement.where(Organization.parent_id == filters["parent_id"])
    elif model is Person:
        if q:
            statement = statement.where(_contains(Person.name, q))
        if filters.get("organization_id") is not None:
            statement = statement.where(Person.organization_id == filters["organization_id"])
        for name in ("title", "degree"):
            if filters.get(name):
                statement = statement.where(getattr(Person, name) == filters[name])
    return statement


def list_page(
    session: Session, model: type[Any], filters: dict[str, Any], limit: int, offset: int
) -> Page:
    ids_query = filtered(model, filters).with_only_columns(model.id)
    total = count_filtered(session, model, filters)
    # Page through ids alone (an index walk), then load only the rows shown: a deep offset
    # then skips index entries instead of joined, full-width rows.
    ids = list(session.scalars(ids_query.order_by(model.id.desc()).limit(limit).offset(offset)))
    items: list[Any] = []
    if ids:
        rows = session.scalars(
            select(model).where(model.id.in_(ids)).options(*LOAD_OPTIONS.get(model, ()))
        ).unique()
        loaded = {row.id: row for row in rows}
        items = [loaded[ident] for ident in ids if ident in loaded]
        note_reads(model, items)
    return Page(items=items, total=int(total or 0), limit=limit, offset=offset)


def get_by_id(session: Session, model: type[Any], ident: int) -> Any | None:
    """The record, or None when it does not exist or the current actor may not see it."""
    statement = (
        select(model)
        .where(model.id == ident, visible_clause(model))
        .options(*LOAD_OPTIONS.get(model, ()))
    )
    record = session.scalars(statement).unique().first()
    if record is not None:
        note_reads(model, [record])
    return record


def get_by_external_id(session: Session, model: type[Any], external_id: str) -> Any | None:
    statement = select(model).where(model.external_id == external_id, visible_clause(model))
    return session.scalars(statement).unique().first()


def count_visible(session: Session, model: type[Any]) -> int:
    return count_filtered(session, model, {})


def regions_by_level(session: Session, level: str, parent: str | None = None) -> list[Region]:
    statement = select(Region).where(Region.level == level).order_by(Region.code)
    if parent:
        statement = statement.where(Region.parent_code == parent)
    return list(session.scalars(statement))


def reference_terms(session: Session, vocabulary: str) -> list[ReferenceTerm]:
    return list(
        session.scalars(
            select(ReferenceTerm)
            .where(ReferenceTerm.vocabulary == vocabulary)
            .order_by(ReferenceTerm.code)
        )
    )

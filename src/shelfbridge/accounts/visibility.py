"""Who may see which record, and which of its fields: one place for every page, API route,
CLI command and query.

The current actor comes from :data:`shelfbridge.accounts.actor.current_actor` (set per request
by the web layer and per command by the CLI); repositories apply :func:`visible_clause` to every
query of a tenant-scoped kind, so lists, counts, filters, search and exports all obey it.

- ``public`` records are visible to everyone;
- ``internal`` ones to members of the owning organisation whose role reads internal records;
- ``partners`` ones also to organisations named in a live sharing grant;
- contributor shares and money fields only to the owner's officers and admins (and, for shares,
  to the contributor concerned); platform admins and the system see everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.accounts.models import SharingGrant
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.models import Demand, Result

READ_INTERNAL = "record.read_internal"
READ_SENSITIVE = "record.read_sensitive"
WRITE = "record.write"

# kind name -> (model, the column naming the owning organisation)
TENANT_SCOPED: dict[str, tuple[type[Any], Any]] = {
    "results": (Result, Result.owner_org_id),
    "demands": (Demand, Demand.enterprise_id),
}
SENSITIVE_FIELDS = {"results": ("contributors",), "demands": ("budget_min", "budget_max")}


class unindexed(FunctionElement[Any]):  # noqa: N801 - reads like the SQL it writes
    """A column the query planner must not use an index for (SQLite's unary ``+``)."""

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type  # the column's own type, so comparisons bind alike


@compiles(unindexed)
def _compile_unindexed(element: unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _compile_unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


def kind_of(model: type[Any]) -> str | None:
    for kind, (tenant_model, _owner) in TENANT_SCOPED.items():
        if tenant_model is model:
            return kind
    return None


NON_PUBLIC = (v.PARTNERS, v.INTERNAL)
# The clause for "public rows" of each kind, one object each, so a caller can recognise it.
PUBLIC_PART: dict[type[Any], ColumnElement[bool]] = {
    model: model.confidentiality == v.PUBLIC for model, _owner in TENANT_SCOPED.values()
}


def visible_clause(model: type[Any], actor: Actor | None = None) -> ColumnElement[bool]:
    """A WHERE clause that keeps only the rows of ``model`` the actor may see."""
    actor = actor or current_actor.get()
    kind = kind_of(model)
    if kind is None or actor.is_unrestricted:
        return true()
    owner_column = TENANT_SCOPED[kind][1]
    readable = actor.orgs_with(READ_INTERNAL)
    if not readable:
        return PUBLIC_PART[model]
    # With several OR-ed terms SQLite would gather row ids from one index per term and then
    # sort them all (0.27 s for a page of 100k rows); walking the table in id order and
    # testing each row stops after one page (6 ms). unindexed() tells SQLite to do that.
    confidentiality = unindexed(model.confidentiality)
    clauses: list[ColumnElement[bool]] = [confidentiality == v.PUBLIC]
    if readable:
        clauses.append(unindexed(owner_column).in_(readable))
        granted = exists(
            select(SharingGrant.id).where(
                SharingGrant.record_kind == kind,
                SharingGrant.record_id == model.id,
                SharingGrant.grantee_org_id.in_(readable),
                SharingGrant.withdrawn_at.is_(None),
            )
        )
        clauses.append(and_(confidentiality == v.PARTNERS, granted))
    return or_(*clauses)


def visible_parts(model: type[Any], actor: Actor | None = None) -> list[ColumnElement[bool]]:
    """The visible rows as disjoint sets that each use an index, for counting them: the
    OR-ed clause makes SQLite scan the whole table to count (50 ms at 100k rows), the
    parts cost one index range each."""
    actor = actor or current_actor.get()
    kind = kind_of(model)
    readable = actor.orgs_with(READ_INTERNAL)
    if kind is None or actor.is_unrestricted or not readable:
        return [visible_clause(model, actor)]
    owner_column = TENANT_SCOPED[kind][1]
    granted = exists(
        select(SharingGrant.id).where(
            SharingGrant.record_kind == kind,
            SharingGrant.record_id == model.id,
            SharingGrant.grantee_org_id.in_(readable),
            SharingGrant.withdrawn_at.is_(None),
        )
    )
    not_owned = or_(owner_column.is_(None), owner_column.not_in(readable))
    return [
        PUBLIC_PART[model],
        and_(model.confidentiality != v.PUBLIC, owner_column.in_(readable)),
        and_(model.confidentiality == v.PARTNERS, not_owned, granted),
    ]


def owner_of(record: Any) -> int | None:
    kind = kind_of(type(record))
    if kind is None:
        return None
    owner: int | None = getattr(record, TENANT_SCOPED[kind][1].key)
    return owner


def is_public(record: Any) -> bool:
    return kind_of(type(record)) is None or record.confidentiality == v.PUBLIC


def can_see_sensitive(record: Any, actor: Actor | None = None) -> bool:
    """Shares and money: the owner's officers and admins, the contributor concerned."""
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return True
    if actor.can(READ_SENSITIVE, owner_of(record)):
        return True
    if isinstance(record, Result) and actor.person_id is not None:
        return any(c.person_id == actor.person_id for c in record.contributors)
    return False


def hidden_fields(record: Any, actor: Actor | None = None) -> tuple[str, ...]:
    """The fields of this record the actor may not see."""
    kind = kind_of(type(record))
    if kind is None or can_see_sensitive(record, actor):
        return ()
    return SENSITIVE_FIELDS.get(kind, ())


def can_write(organization_id: int | None, actor: Actor | None = None) -> bool:
    actor = actor or current_actor.get()
    return actor.can(WRITE, organization_id)

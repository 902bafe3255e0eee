"""Queries of the registry, and the database-backed resolver of references.

Lists are paged through ids alone, with their totals and a few known page positions
remembered per state of the database (see ``ListMemory``), and the JSON list of results reads
only the columns it shows (``result_items``).
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ARRAY,
    BindParameter,
    Connection,
    Engine,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, True_

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.accounts.visibility import (
    PUBLIC_PART,
    READ_SENSITIVE,
    SENSITIVE_FIELDS,
    kind_of,
    unindexed,
    visible_clause,
    visible_parts,
)
from shelfbridge.core.database import base_engine
from shelfbridge.core.versions import COUNTER_QUERY, state_of, take_request_counter
from shelfbridge.registry import vocabularies as v
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
            # the public rows entry by entry is not, and almost every row is public. The rest
            # is counted as two ranges of the index, so no value is taken for public.
            column = model.confidentiality
            total += _count(session, select(model.id)) - _count(
                session, select(model.id).where(or_(column < v.PUBLIC, column > v.PUBLIC))
            )
            continue
        # A caller who sees everything has the clause TRUE: leave it out, or SQLite's
        # "WHERE 1 = 1" turns its whole-table count(*) into a scan of every index entry.
        total += _count(session, ids if isinstance(part, True_) else ids.where(part))
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
        if q:  # an expert is looked for by name or by what they work on
            statement = statement.where(
                or_(_contains(Person.name, q), _contains(Person.profile, q))
            )
        if filters.get("organization_id") is not None:
            statement = statement.where(Person.organization_id == filters["organization_id"])
        for name in ("title", "degree"):
            if filters.get(name):
                statement = statement.where(getattr(Person, name) == filters[name])
    return statement


# ---- Lists: totals and page positions, remembered per state of the database ----
#
# Counting a list and walking to a deep offset cost more than everything else a list request
# does (a walk to offset 50,000 steps through 50,000 index entries, or table rows where the
# visibility clause cannot use an index). Both depend only on the rows of the database and on
# the list: its kind, its filters and what the caller may see. So each database keeps, per
# list, its total and anchors, tagged with the state of the database they were read in. An
# anchor (p, a) says that exactly p rows of the list have an id larger than a, so the page at
# offset o starts o - p rows into the walk down from a (o >= p), or ends above it (o < p): a
# request walks from the nearest anchor instead of from the first or the last row, and every
# page read leaves its first id as an anchor. Where the nearest anchor is still far (right
# after a commit), a new one is made near the page by counting, on indexes, the rows between
# the nearest one and an id guessed from the list's density: counting index entries is cheaper
# than walking where the visibility clause has to read table rows (signed-in callers).
#
# Any commit that changes the data, by any process, changes the state, and nothing remembered
# in an earlier state is used again. The state is the change counter (``core.versions``:
# triggers raise it with every commit that changes a table but the security events, which
# signed-in reads write every two seconds). It is read before the unit of work reads anything,
# so whatever the request then reads is at least as new as the state it files it under:
# - SQLite: ``core.versions`` reads it again only when ``PRAGMA data_version``, on a connection
#   of our own that never writes, says another connection has committed;
# - PostgreSQL: one query of the counter, inside the unit of work's own transaction.
# A session that has already begun its transaction (it may have read an older state, or
# written rows of its own) neither uses nor fills the memory.
#
# The key of a list holds everything about the caller that visible_clause() and the
# row-level security policies read (kind, platform admin, roles per organisation, person):
# should visibility ever depend on more, _actor_key() must name it too.

LISTS_PER_DATABASE = 256
POSITIONS_PER_LIST = 512
# Rather than walk further than this, make an anchor nearer the page by counting (at most
# COUNTED_JUMPS times for one page).
LONG_WALK = 2000
COUNTED_JUMPS = 3
JUMP_MARKS = 8  # anchors a jump leaves on its way


@dataclass
class _ListState:
    """What is known about one list in one state of the database."""

    version: Hashable
    total: int | None = None
    positions: list[int] = field(default_factory=list)  # sorted: rows before each anchor ...
    ids: list[int] = field(default_factory=list)  # ... and the anchor's id
    bounds: tuple[int, int] | None = None  # the smallest and largest id of the table


class ListMemory:
    """The totals and anchors of the lists of one database (one engine)."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self._engine = weakref.ref(engine)  # the key of this memory in _MEMORIES: weakly
        self._state = state_of(engine)
        self._lock = threading.Lock()
        self._lists: OrderedDict[Hashable, _ListState] = OrderedDict()

    def version(self, session: Session) -> Hashable | None:
        """The state of the database, or None when lists cannot be remembered now."""
        if session.in_transaction():
            return None
        if self.dialect == "postgresql":
            engine = self._engine()
            early = take_request_counter(engine) if engine is not None else None
            if early is not None:  # read for the request's credentials, before any read here
                return ("pg", early)
            counter = session.connection().exec_driver_sql(COUNTER_QUERY)
            return ("pg", counter.scalar_one())
        return self._state.current()

    def state(self, key: Hashable, version: Hashable) -> _ListState:
        with self._lock:
            state = self._lists.get(key)
            if state is None or state.version != version:
                state = _ListState(version)
                self._lists[key] = state
                while len(self._lists) > LISTS_PER_DATABASE:
                    self._lists.popitem(last=False)
            else:
                self._lists.move_to_end(key)
            return state

    def set_total(self, state: _ListState, total: int) -> None:
        with self._lock:
            state.total = total

    def nearest(self, state: _ListState, offset: int) -> tuple[tuple[int, int] | None, ...]:
        """The anchors with the most rows before them at or before ``offset``, and with the
        fewest after it."""
        with self._lock:
            below = bisect_right(state.positions, offset) - 1
            above = bisect_left(state.positions, offset + 1)
            return (
                (state.positions[below], state.ids[below]) if below >= 0 else None,
                (state.positions[above], state.ids[above])
                if above < len(state.positions)
                else None,
            )

    def learn(self, state: _ListState, position: int, ident: int) -> None:
        with self._lock:
            index = bisect_left(state.positions, position)
            if index < len(state.positions) and state.positions[index] == position:
                return
            state.positions.insert(index, position)
            state.ids.insert(index, ident)
            if len(state.positions) > POSITIONS_PER_LIST:  # keep every other one
                del state.positions[1::2], state.ids[1::2]

    def forget(self) -> None:
        with self._lock:
            self._lists.clear()


_MEMORIES: WeakKeyDictionary[Engine, ListMemory] = WeakKeyDictionary()
_MEMORIES_LOCK = threading.Lock()


def list_memory(session: Session) -> ListMemory | None:
    bind = session.get_bind()
    if not isinstance(bind, Engine | Connection):
        return None
    engine = base_engine(bind)
    with _MEMORIES_LOCK:
        memory = _MEMORIES.get(engine)
        if memory is None:
            memory = _MEMORIES[engine] = ListMemory(engine)
            event.listen(engine, "engine_disposed", lambda _engine: memory.forget())
    return memory


def _actor_key(actor: Actor) -> Hashable:
    """Everything about the actor that can decide which rows it sees (all but its name)."""
    return (
        actor.kind,
        actor.is_platform_admin,
        actor.person_id,
        tuple(sorted((org, tuple(sorted(roles))) for org, roles in actor.roles.items())),
    )


@dataclass(frozen=True)
class _ListQueries:
    """The id queries of one list as seen by one kind of caller, built once, with the page
    window (and the anchor to start from) as parameters."""

    ids: Select[Any]
    narrowed: Select[Any]  # the ids of the list before visibility (for counting part by part)
    down: Select[Any]  # newest first, from the top
    down_from: Select[Any]  # newest first, from an anchor down (id <= start)
    up: Select[Any]  # oldest first, from the bottom
    up_from: Select[Any]  # oldest first, from above an anchor up (id > start)
    derived: dict[Hashable, Select[Any]] = field(default_factory=dict)  # built from these

    def walk(self, name: str) -> Select[Any]:
        found: Select[Any] = getattr(self, name)
        return found

    def derive(self, key: Hashable, build: Callable[[], Select[Any]]) -> Select[Any]:
        """A statement built from these queries, built once."""
        statement = self.derived.get(key)
        if statement is None:
            statement = self.derived.setdefault(key, build())
        return statement


_QUERIES: OrderedDict[Hashable, _ListQueries] = OrderedDict()
_QUERIES_LOCK = threading.Lock()


def _fixed_lists(statement: Select[Any]) -> Select[Any]:
    """The statement with each IN list of values (the caller's organisations) as one bound
    parameter per value: built once for a list, such a statement is run as it is, where an
    "expanding" IN is rewritten by SQLAlchemy at every execution (a fifth of a member's list
    request)."""

    def replace(element: Any, **_kw: Any) -> Any:
        if isinstance(element, BinaryExpression) and element.operator in (
            operators.in_op,
            operators.not_in_op,
        ):
            right = element.right
            if isinstance(right, BindParameter) and right.expanding:
                values = list(right.effective_value or ())
                if values:
                    each = [bindparam(None, value, type_=right.type) for value in values]
                    left = element.left
                    return (
                        left.in_(each) if element.operator is operators.in_op else left.not_in(each)
                    )
        return None

    return cast("Select[Any]", visitors.replacement_traverse(statement, {}, replace))


def _list_queries(model: type[Any], filters: dict[str, Any]) -> tuple[Hashable, _ListQueries]:
    """The id queries of a list for the current actor, and the key that names the list."""
    key: Hashable = None
    try:
        key = (model.__tablename__, tuple(sorted(filters.items())), _actor_key(current_actor.get()))
        hash(key)
    except TypeError:  # a filter value that cannot be a key: build, do not remember
        key = None
    if key is not None:
        with _QUERIES_LOCK:
            found = _QUERIES.get(key)
            if found is not None:
                _QUERIES.move_to_end(key)
                return key, found
    ids = _fixed_lists(filtered(model, filters).with_only_columns(model.id))
    limit: BindParameter[int] = bindparam("limit")
    skip: BindParameter[int] = bindparam("skip")
    queries = _ListQueries(
        ids=ids,
        narrowed=narrowed(model, filters).with_only_columns(model.id),
        down=ids.order_by(model.id.desc()).limit(limit).offset(skip),
        down_from=ids.where(model.id <= bindparam("start"))
        .order_by(model.id.desc())
        .limit(limit)
        .offset(skip),
        up=ids.order_by(model.id.asc()).limit(limit).offset(skip),
        up_from=ids.where(model.id > bindparam("start"))
        .order_by(model.id.asc())
        .limit(limit)
        .offset(skip),
    )
    if key is not None:
        with _QUERIES_LOCK:
            _QUERIES[key] = queries
            while len(_QUERIES) > LISTS_PER_DATABASE:
                _QUERIES.popitem(last=False)
    return key, queries


def _counted_between(model: type[Any], low: Any, high: Any) -> list[Any]:
    """Disjoint clauses whose rows together are the visible rows with low < id <= high, each
    counted on an index."""
    between = (model.id > low, model.id <= high)
    parts = visible_parts(model)
    if model in PUBLIC_PART and len(parts) == 1 and parts[0] is not PUBLIC_PART[model]:
        # All rows (a caller who sees everything): one part per confidentiality, and one for
        # any other value it might hold (none: the field rules allow no other), all on the
        # column's index; confidentiality is never null. The last must not use the ids'
        # order instead, or SQLite reads every table row between the two ids.
        column = model.confidentiality
        known = sorted(v.CONFIDENTIALITY)
        gaps = [and_(column > a, column < b) for a, b in zip(known, known[1:], strict=False)]
        others = or_(column < known[0], *gaps, column > known[-1])
        unordered = (unindexed(model.id) > low, unindexed(model.id) <= high)
        return [*(and_(column == value, *between) for value in known), and_(others, *unordered)]
    return [and_(part, *between) for part in parts]


def _counts_between(
    session: Session, model: type[Any], queries: _ListQueries, marks: list[int]
) -> list[int]:
    """How many rows of the list lie between each pair of neighbouring ids of ``marks``
    (ascending; marks[i] < id <= marks[i + 1]): one statement, counting the visible rows part
    by part, each on an index."""
    spans = len(marks) - 1

    def build() -> Select[Any]:
        bounds: list[BindParameter[int]] = [bindparam(f"m{i}") for i in range(spans + 1)]
        statement = select(
            *(
                select(func.count())
                .select_from(queries.narrowed.where(part).subquery())
                # a scalar subquery per span and part: one round trip
                .scalar_subquery()
                for i in range(spans)
                for part in _counted_between(model, bounds[i], bounds[i + 1])
            )
        )
        return _fixed_lists(statement)

    statement = queries.derive(("counts_between", spans), build)
    row = session.connection().execute(statement, {f"m{i}": m for i, m in enumerate(marks)}).one()
    parts = len(row) // spans
    return [sum(int(n or 0) for n in row[i * parts : (i + 1) * parts]) for i in range(spans)]


def _jump(
    session: Session,
    model: type[Any],
    queries: _ListQueries,
    state: _ListState,
    route: tuple[int, str, tuple[int, int] | None],
    offset: int,
    total: int,
) -> list[tuple[int, int]]:
    """New anchors on the way to ``offset``: from the route's anchor (or end of the list) to
    an id guessed from the density of the list, JUMP_MARKS of them evenly spaced, with the
    rows between them counted in one statement. The last is the one nearest the page."""
    if state.bounds is None:
        # Two scalar subqueries, not min() and max() in one SELECT: SQLite answers a lone
        # min() or max() from the ends of the primary key, but both together by reading
        # every row (12 ms at 100k rows, after every commit).
        low, high = (
            session.connection()
            .execute(
                select(
                    select(func.min(model.id)).scalar_subquery(),
                    select(func.max(model.id)).scalar_subquery(),
                )
            )
            .one()
        )
        if low is None:
            return []
        state.bounds = (int(low), int(high))
    low, high = state.bounds
    per_row = (high - low + 1) / max(total, 1)  # ids per row of the list
    _cost, direction, anchor = route
    if direction == "down":  # move down from the anchor (or from above the largest id)
        position, ident = anchor or (0, high)
        guess = max(low - 1, ident - round((offset - position) * per_row))
    else:  # move up from the anchor (or from below the smallest id)
        position, ident = anchor or (total, low - 1)
        guess = min(high, ident + round((position - offset) * per_row))
    if guess == ident:
        return []
    step = (guess - ident) / JUMP_MARKS
    marks = [ident + round(step * i) for i in range(JUMP_MARKS)] + [guess]
    if direction == "down":  # marks descend from the anchor: count them ascending
        counts = _counts_between(session, model, queries, marks[::-1])[::-1]
        made, before = [], position
        for mark, count in zip(marks[1:], counts, strict=True):
            before += count  # rows between the previous mark and this one lie above it
            made.append((before, mark))
        return made
    counts = _counts_between(session, model, queries, marks)
    made, before = [], position
    for mark, count in zip(marks[1:], counts, strict=True):
        before -= count  # rows between the previous mark and this one lie below it
        made.append((before, mark))
    return made


@dataclass(frozen=True)
class _PageWalk:
    """How to read one page: which id query of the list, with which parameters; the page is
    newest first once ``reverse`` is applied, and its first id is then remembered."""

    queries: _ListQueries
    name: str
    params: dict[str, int]
    reverse: bool
    learn: Callable[[int], None]


def _plan_page(
    session: Session, model: type[Any], filters: dict[str, Any], limit: int, offset: int
) -> tuple[_PageWalk | None, int]:
    """How to read one page of a list (None: it is past the end), and the list's total."""
    key, queries = _list_queries(model, filters)
    memory = list_memory(session) if key is not None else None
    version = memory.version(session) if memory is not None else None
    if memory is None or version is None:
        total = count_filtered(session, model, filters)
        walk = _PageWalk(queries, "down", {"limit": limit, "skip": offset}, False, _forget)
        return walk, total
    state = memory.state(key, version)
    if state.total is None:
        total = count_filtered(session, model, filters)
        memory.set_total(state, total)
    else:
        total = state.total
    if offset >= total:
        return None, total

    def learn(first: int) -> None:
        memory.learn(state, offset, first)  # ``offset`` rows above the page's first id

    last = min(offset + limit, total) - 1  # the page's last position
    route = _shortest_walk(memory, state, offset, last, total)
    for _ in range(COUNTED_JUMPS):
        if route[0] <= LONG_WALK:
            break
        made = _jump(session, model, queries, state, route, offset, total)
        if not made:
            break
        for position, ident in made:
            memory.learn(state, position, ident)
        route = _shortest_walk(memory, state, offset, last, total)
    _cost, direction, anchor = route
    if direction == "down":
        if anchor is None:
            return _PageWalk(queries, "down", {"limit": limit, "skip": offset}, False, learn), total
        params = {"start": anchor[1], "limit": limit, "skip": offset - anchor[0]}
        return _PageWalk(queries, "down_from", params, False, learn), total
    count = last - offset + 1
    if anchor is None:
        params = {"limit": count, "skip": total - 1 - last}
        return _PageWalk(queries, "up", params, True, learn), total
    params = {"start": anchor[1], "limit": count, "skip": anchor[0] - 1 - last}
    return _PageWalk(queries, "up_from", params, True, learn), total


def _shortest_walk(
    memory: ListMemory, state: _ListState, offset: int, last: int, total: int
) -> tuple[int, str, tuple[int, int] | None]:
    """The shortest way to the page: down from the top or an anchor at or before it, or up
    from the bottom or an anchor after it; (rows skipped, direction, anchor)."""
    below, above = memory.nearest(state, offset)
    walks = [(offset - (below[0] if below else 0), "down", below)]
    if above is not None and above[0] > last:
        walks.append((above[0] - 1 - last, "up", above))
    walks.append((total - 1 - last, "up", None))
    return min(walks, key=lambda walk: walk[0])


def _forget(_first: int) -> None:
    """Nothing is remembered of a page read outside the list memory."""


def page_ids(
    session: Session, model: type[Any], filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[int], int]:
    """The ids of one page of a list (newest first) and the list's total."""
    walk, total = _plan_page(session, model, filters, limit, offset)
    if walk is None:
        return [], total
    statement = walk.queries.walk(walk.name)
    ids = [row[0] for row in session.connection().execute(statement, walk.params)]
    if walk.reverse:
        ids.reverse()
    if ids:
        walk.learn(ids[0])
    return ids, total


def list_page(
    session: Session, model: type[Any], filters: dict[str, Any], limit: int, offset: int
) -> Page:
    ids, total = page_ids(session, model, filters, limit, offset)
    # Only the rows shown are loaded, with what they show of their neighbours.
    items: list[Any] = []
    if ids:
        rows = session.scalars(
            select(model).where(model.id.in_(ids)).options(*LOAD_OPTIONS.get(model, ()))
        ).unique()
        loaded = {row.id: row for row in rows}
        items = [loaded[ident] for ident in ids if ident in loaded]
        note_reads(model, items)
    return Page(items=items, total=total, limit=limit, offset=offset)


# ---- The JSON list of results: only the columns it shows, in one statement ----

_RESULTS = Result.__table__
_OWNERS = Organization.__table__
_CONTRIBUTORS = ResultContributor.__table__
_PEOPLE = Person.__table__

# A result and its owner, with the page of ids as a subquery of the same statement; for
# callers who may see some shares, also its contributors (one row each, none for a result
# without). SQLite reads them all in one statement. PostgreSQL plans every page walk anew (the
# generic plan of a walk is a hash join over the whole table), and one statement joining the
# four tables cost it 0.19 ms more to plan than the walk alone, on every signed-in request:
# there the contributors of the page's results come in a second statement, which is planned
# once (its generic plan is as good as any).
RESULT_ROWS = select(
    _RESULTS.c.id,
    _RESULTS.c.external_id,
    _RESULTS.c.kind,
    _RESULTS.c.title,
    _RESULTS.c.abstract,
    _RESULTS.c.keywords,
    _RESULTS.c.discipline,
    _RESULTS.c.ipc_codes,
    _RESULTS.c.trl,
    _RESULTS.c.owner_org_id,
    _OWNERS.c.external_id.label("owner_external_id"),
    _OWNERS.c.name.label("owner_name"),
    _RESULTS.c.confidentiality,
    _RESULTS.c.status,
    _RESULTS.c.created_at,
    _RESULTS.c.updated_at,
).select_from(_RESULTS.outerjoin(_OWNERS, _RESULTS.c.owner_org_id == _OWNERS.c.id))
_CONTRIBUTOR_COLUMNS = (
    _CONTRIBUTORS.c.name.label("contributor_name"),
    _CONTRIBUTORS.c.share,
    _CONTRIBUTORS.c.person_id,
    _PEOPLE.c.external_id.label("person_external_id"),
    _PEOPLE.c.name.label("person_name"),
)
RESULT_ROWS_WITH_CONTRIBUTORS = (
    RESULT_ROWS.add_columns(*_CONTRIBUTOR_COLUMNS)
    .outerjoin(_CONTRIBUTORS, _CONTRIBUTORS.c.result_id == _RESULTS.c.id)
    .outerjoin(_PEOPLE, _CONTRIBUTORS.c.person_id == _PEOPLE.c.id)
)
_RESULT_FIELDS = 16  # the columns of RESULT_ROWS
# PostgreSQL: the ids as one array parameter, so that the statement's text (and its prepared
# plan) is the same whatever the page's length.
CONTRIBUTORS_OF_RESULTS = (
    select(_CONTRIBUTORS.c.result_id, *_CONTRIBUTOR_COLUMNS)
    .select_from(_CONTRIBUTORS.outerjoin(_PEOPLE, _CONTRIBUTORS.c.person_id == _PEOPLE.c.id))
    .where(_CONTRIBUTORS.c.result_id == any_(bindparam("result_ids", type_=ARRAY(Integer))))
    .order_by(_CONTRIBUTORS.c.result_id, _CONTRIBUTORS.c.position)
)


def _result_rows(walk: _PageWalk, contributors: bool) -> Select[Any]:
    def build() -> Select[Any]:
        ids = walk.queries.walk(walk.name)
        if contributors:
            return RESULT_ROWS_WITH_CONTRIBUTORS.where(_RESULTS.c.id.in_(ids)).order_by(
                _RESULTS.c.id.desc(), _CONTRIBUTORS.c.position
            )
        return RESULT_ROWS.where(_RESULTS.c.id.in_(ids)).order_by(_RESULTS.c.id.desc())

    return walk.queries.derive(("result_rows", walk.name, contributors), build)


def _result_rows_and_contributors(
    session: Session, walk: _PageWalk, with_contributors: bool
) -> tuple[list[Any], dict[int, list[tuple[Any, ...]]]]:
    """The page's rows (newest first) and the contributors of each, when asked for."""
    connection = session.connection()
    separately = with_contributors and connection.dialect.name == "postgresql"
    joined = with_contributors and not separately
    # Rows are unpacked as tuples: reading a Row's fields by name costs ten times as much.
    rows: list[Any] = []
    contributors: dict[int, list[tuple[Any, ...]]] = {}
    for row in connection.execute(_result_rows(walk, joined), walk.params).all():
        ident = row[0]
        if not rows or rows[-1][0] != ident:
            rows.append(row)
            contributors[ident] = []
        if joined and row[_RESULT_FIELDS] is not None:
            contributors[ident].append(tuple(row[_RESULT_FIELDS:]))
    if separately and rows:
        found = connection.execute(CONTRIBUTORS_OF_RESULTS, {"result_ids": list(contributors)})
        for result_id, *contributor in found:
            contributors[result_id].append(tuple(contributor))
    return rows, contributors


def result_items(session: Session, filters: dict[str, Any], limit: int, offset: int) -> Page:
    """A page of results as the API shows them (``schemas.result_out`` of each record, with
    the same hidden fields), read in one statement with only the columns shown; contributors
    only when the caller may see the shares of some results (or be one of the contributors)."""
    walk, total = _plan_page(session, Result, filters, limit, offset)
    if walk is None:
        return Page(items=[], total=total, limit=limit, offset=offset)
    actor = current_actor.get()
    person = actor.person_id
    unrestricted = actor.is_unrestricted
    sensitive = actor.orgs_with(READ_SENSITIVE)
    with_contributors = unrestricted or person is not None or bool(sensitive)
    rows, contributors = _result_rows_and_contributors(session, walk, with_contributors)
    if rows:
        walk.learn(rows[0][0])
    items = []
    for (
        ident,
        external_id,
        kind,
        title,
        abstract,
        keywords,
        discipline,
        ipc_codes,
        trl,
        owner_id,
        owner_external_id,
        owner_name,
        confidentiality,
        status,
        created_at,
        updated_at,
        *_rest,
    ) in rows:
        people = contributors[ident]
        # visibility.can_see_sensitive, with the contributors at hand
        visible = (
            unrestricted
            or owner_id in sensitive
            or (person is not None and any(c[2] == person for c in people))
        )
        hidden = () if visible else SENSITIVE_FIELDS["results"]
        items.append(
            {
                "id": ident,
                "external_id": external_id,
                "kind": kind,
                "title": title,
                "abstract": abstract,
                "keywords": list(keywords or []),
                "discipline": discipline,
                "ipc_codes": list(ipc_codes or []),
                "trl": trl,
                "owner": None
                if owner_id is None or owner_external_id is None
                else {"id": owner_id, "external_id": owner_external_id, "name": owner_name},
                "contributors": [
                    {
                        "name": name,
                        "share": str(share),
                        "person": None
                        if person_id is None or person_external_id is None
                        else {"id": person_id, "external_id": person_external_id, "name": pname},
                    }
                    for name, share, person_id, person_external_id, pname in people
                ]
                if "contributors" not in hidden
                else [],
                "hidden_fields": list(hidden),
                "confidentiality": confidentiality,
                "status": status,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if confidentiality != "public":
            security.note_read("results", ident, confidentiality)
    return Page(items=items, total=total, limit=limit, offset=offset)


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

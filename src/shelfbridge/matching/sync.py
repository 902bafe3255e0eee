"""Incremental index updates: the match index follows the registry, transaction by transaction.

Session events collect what a transaction changes (``after_flush`` sees every new, changed and
deleted record with its ids and attribute history; ``before_flush`` looks up what a deleted
organisation takes with it) and, once the transaction has committed (``after_commit``), the
index maintainer attached to the database reloads those records and what depends on them:

- a result → itself; when its title, keywords, confidentiality or owner changed (or it was
  created or deleted) also its contributors (people) and its owner, old and new (their text
  holds the titles of their public results);
- a contributor row → the person, old and new;
- a demand → itself; when its title, confidentiality or enterprise changed, the enterprise;
- a person → itself;
- an organisation → itself; when its kind or region changed, its results, people and demands
  too (their attributes carry the owner's kind and region); when deleted, its people.

Imports write with SQLAlchemy Core, which session events do not see: the import engine calls
:func:`audit_position` before it writes and :func:`after_bulk_write` after it commits, and
the records named in the audit events written in between are reloaded.

An update that fails never undoes the committed write: it is logged, the index is marked stale
(``shelfbridge index info`` shows it) and ``shelfbridge index rebuild`` repairs it. Nothing
happens for a database no maintainer is attached to (see :func:`attach`), nor, inside the
maintainer, while the index has never been built (the first build reads everything anyway).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from shelfbridge.core.audit import AuditCheckpoint, AuditEvent
from shelfbridge.core.database import Database, base_engine
from shelfbridge.matching.types import Target
from shelfbridge.registry.models import Demand, Organization, Person, Result, ResultContributor

logger = logging.getLogger(__name__)

_CHANGES_KEY = "match_index_changes"

# Columns whose change alters the text of another record (a person's or an organisation's).
_RESULT_TEXT = ("title", "keywords", "confidentiality", "owner_org_id")
_DEMAND_TEXT = ("title", "confidentiality", "enterprise_id")
_ORG_ATTRIBUTES = ("kind", "region_code")
_AUDIT_TARGETS = {
    "result": Target.RESULTS,
    "demand": Target.DEMANDS,
    "person": Target.PEOPLE,
    "organization": Target.ORGANIZATIONS,
}


@dataclass
class Changes:
    """What one transaction changed, as ids to reload, before the dependents are looked up."""

    records: dict[Target, set[int]] = field(default_factory=lambda: defaultdict(set))
    #: results whose contributors (people) and owner must be reloaded too
    result_dependents: set[int] = field(default_factory=set)
    #: demands whose enterprise must be reloaded too
    demand_dependents: set[int] = field(default_factory=set)
    #: organisations whose results, people and demands must be reloaded too
    organization_members: set[int] = field(default_factory=set)

    def add(self, target: Target, ids: Iterable[int | None]) -> None:
        self.records[target].update(int(i) for i in ids if i is not None)

    def __bool__(self) -> bool:
        return any(self.records.values()) or bool(
            self.result_dependents or self.demand_dependents or self.organization_members
        )


class IndexMaintainer(Protocol):
    """What the sync hands committed changes to (the match runtime of the service)."""

    def apply_changes(self, changes: Changes) -> None: ...


_MAINTAINERS: WeakKeyDictionary[Engine, IndexMaintainer] = WeakKeyDictionary()


def attach(database: Database, maintainer: IndexMaintainer) -> None:
    """Keep the index of ``maintainer`` up to date with the writes made through ``database``."""
    for engine in (database.reader, database.writer):
        _MAINTAINERS[engine] = maintainer


def detach(database: Database, maintainer: IndexMaintainer | None = None) -> None:
    """Stop updating an index for ``database`` (only ``maintainer``'s, when given)."""
    for engine in (database.reader, database.writer):
        if maintainer is None or _MAINTAINERS.get(engine) is maintainer:
            _MAINTAINERS.pop(engine, None)


def maintainer_for(bind: Any) -> IndexMaintainer | None:
    """The maintainer attached to an engine or connection, if any."""
    engine = base_engine(bind) if isinstance(bind, Engine | Connection) else bind
    try:
        return _MAINTAINERS.get(engine)
    except TypeError:  # not weak-referenceable: nothing was attached to it
        return None


def _session_maintainer(session: Session) -> IndexMaintainer | None:
    bind = session.bind
    return None if bind is None else maintainer_for(bind)


# ---------------------------------------------------------------- collecting, per flush
def _history_values(obj: Any, key: str) -> set[Any]:
    """The attribute's value now and before this flush."""
    history = get_history(obj, key)
    values = set(history.added or ()) | set(history.deleted or ()) | set(history.unchanged or ())
    if not values:
        values = {getattr(obj, key, None)}
    return {value for value in values if value is not None}


def _changed(obj: Any, keys: Iterable[str]) -> bool:
    return any(get_history(obj, key).has_changes() for key in keys)


def _note(changes: Changes, obj: Any, whole: bool) -> None:
    """Note one new, changed (``whole=False``) or deleted/new (``whole=True``) object."""
    if isinstance(obj, Result):
        changes.add(Target.RESULTS, [obj.id])
        if whole or _changed(obj, _RESULT_TEXT):
            changes.add(Target.ORGANIZATIONS, _history_values(obj, "owner_org_id"))
            changes.result_dependents.add(int(obj.id))
    elif isinstance(obj, ResultContributor):
        changes.add(Target.PEOPLE, _history_values(obj, "person_id"))
    elif isinstance(obj, Demand):
        changes.add(Target.DEMANDS, [obj.id])
        if whole or _changed(obj, _DEMAND_TEXT):
            changes.add(Target.ORGANIZATIONS, _history_values(obj, "enterprise_id"))
    elif isinstance(obj, Person):
        changes.add(Target.PEOPLE, [obj.id])
    elif isinstance(obj, Organization):
        changes.add(Target.ORGANIZATIONS, [obj.id])
        if not whole and _changed(obj, _ORG_ATTRIBUTES):
            changes.organization_members.add(int(obj.id))


_TRACKED = (Result, ResultContributor, Demand, Person, Organization)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _session_maintainer(session) is None:
        return
    doomed = [obj.id for obj in session.deleted if isinstance(obj, Organization)]
    if not doomed:
        return
    # The database sets their employer to NULL: reload them with their new attributes.
    changes: Changes = session.info.setdefault(_CHANGES_KEY, Changes())
    with session.no_autoflush:
        people = session.scalars(select(Person.id).where(Person.organization_id.in_(doomed)))
        changes.add(Target.PEOPLE, list(people))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if _session_maintainer(session) is None:
        return
    changes: Changes = session.info.setdefault(_CHANGES_KEY, Changes())
    for obj in session.new:
        if isinstance(obj, _TRACKED):
            _note(changes, obj, whole=True)
    for obj in session.dirty:
        if isinstance(obj, _TRACKED) and session.is_modified(obj):
            _note(changes, obj, whole=False)
    for obj in session.deleted:
        if isinstance(obj, _TRACKED):
            _note(changes, obj, whole=True)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changes: Changes | None = session.info.pop(_CHANGES_KEY, None)
    if not changes:
        return
    maintainer = _session_maintainer(session)
    if maintainer is not None:
        apply_safely(maintainer, changes)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGES_KEY, None)


def apply_safely(maintainer: IndexMaintainer, changes: Changes) -> None:
    """Hand committed changes to the index; a failure is logged, never raised (the database
    write stands, and a rebuild repairs the index)."""
    try:
        maintainer.apply_changes(changes)
    except Exception:
        logger.exception(
            "The match index could not be updated after a commit; "
            "run `shelfbridge index rebuild` to repair it."
        )
        mark_stale = getattr(maintainer, "mark_stale", None)
        if callable(mark_stale):
            try:
                mark_stale()
            except Exception:  # pragma: no cover - the first error is already logged
                logger.exception("The match index could not be marked stale.")


# ---------------------------------------------------------------- bulk writes (imports)
def audit_position(database: Database) -> int:
    """The head of the audit chain now; pass it to :func:`after_bulk_write` after the write."""
    if maintainer_for(database.writer) is None:
        return 0
    return audit_head(database)


def audit_head(database: Database) -> int:
    """The sequence number of the last audit event (0 before the first)."""
    with database.unit_of_work(write=False) as session:
        head = session.scalar(select(AuditCheckpoint.head_seq).where(AuditCheckpoint.id == 1))
    return int(head or 0)


def after_bulk_write(database: Database, since: int) -> None:
    """Reload the records that audit events after ``since`` name (a bulk write with Core,
    such as an import, has committed)."""
    maintainer = maintainer_for(database.writer)
    if maintainer is None:
        return
    try:
        changes = audited_changes(database, since)
    except Exception:
        logger.exception("The audit events of a bulk write could not be read for the index.")
        return
    if changes:
        apply_safely(maintainer, changes)


def audited_changes(database: Database, since: int) -> Changes:
    """The records named by the audit events after sequence ``since``, with their dependents."""
    changes = Changes()
    with database.unit_of_work(write=False) as session:
        statement = (
            select(AuditEvent.entity_kind, AuditEvent.entity_id)
            .where(AuditEvent.seq > since, AuditEvent.entity_kind.in_(list(_AUDIT_TARGETS)))
            .distinct()
        )
        for kind, ident in session.execute(statement):
            target = _AUDIT_TARGETS[kind]
            changes.add(target, [ident])
            # An imported result or demand may change its owner's text (and a result its
            # contributors'): the current ones are looked up when the changes are applied.
            if target is Target.RESULTS:
                changes.result_dependents.add(int(ident))
            elif target is Target.DEMANDS:
                changes.demand_dependents.add(int(ident))
    return changes


# ---------------------------------------------------------------- after commit: dependents
def expand(session: Session, changes: Changes) -> dict[Target, set[int]]:
    """Every record to reload: the changed ones and those whose text or attributes depend on
    them, read in ``session`` (which must see every row: the caller acts as the system)."""
    records: dict[Target, set[int]] = {t: set(changes.records.get(t, set())) for t in Target}
    for chunk in _chunks(sorted(changes.result_dependents)):
        rows = session.execute(
            select(ResultContributor.person_id).where(
                ResultContributor.result_id.in_(chunk), ResultContributor.person_id.is_not(None)
            )
        )
        records[Target.PEOPLE].update(int(r[0]) for r in rows if r[0] is not None)
        owners = session.scalars(
            select(Result.owner_org_id).where(
                Result.id.in_(chunk), Result.owner_org_id.is_not(None)
            )
        )
        records[Target.ORGANIZATIONS].update(int(o) for o in owners if o is not None)
    for chunk in _chunks(sorted(changes.demand_dependents)):
        enterprises = session.scalars(select(Demand.enterprise_id).where(Demand.id.in_(chunk)))
        records[Target.ORGANIZATIONS].update(int(o) for o in enterprises)
    for chunk in _chunks(sorted(changes.organization_members)):
        records[Target.RESULTS].update(
            session.scalars(select(Result.id).where(Result.owner_org_id.in_(chunk)))
        )
        records[Target.PEOPLE].update(
            session.scalars(select(Person.id).where(Person.organization_id.in_(chunk)))
        )
        records[Target.DEMANDS].update(
            session.scalars(select(Demand.id).where(Demand.enterprise_id.in_(chunk)))
        )
    return records


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]

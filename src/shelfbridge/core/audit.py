"""The audit trail: one event per create, update or delete of a domain record.

Events are written in the same transaction as the change, into an append-only table whose
rows form a hash chain: each row's hash covers the previous row's hash and the row itself. A
one-row checkpoint table holds the head (last sequence number and hash); it is updated in the
same transaction, it doubles as the lock that keeps writers in line on PostgreSQL, and it is
what shows a cut tail. The database itself refuses UPDATE and DELETE on the events (see the
migration that creates them).

Changes made through the ORM are picked up automatically from session events; bulk writers
(imports) add their events with :func:`buffer_event` and flush them with :func:`write_pending`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    Text,
    Update,
    bindparam,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import instance_state

from shelfbridge.core.database import Base
from shelfbridge.core.i18n import N_

GENESIS_HASH = "0" * 64
SKIPPED_COLUMNS = frozenset({"created_at", "updated_at"})
_BUFFER_KEY = "audit_buffer"
_PENDING_KEY = "audit_pending"

current_actor: ContextVar[str] = ContextVar("current_actor", default="system")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, hashed as written
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(10))  # create | update | delete
    entity_kind: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[int] = mapped_column(Integer, index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


AUDIT_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]


class AuditCheckpoint(Base):
    """The head of the chain, kept outside the events table."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    head_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


AUDIT_CHECKPOINT: Table = AuditCheckpoint.__table__  # type: ignore[assignment]


# ---------------------------------------------------------------- canonical form and hashing
def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in an audit event")


# Built once: json.dumps(value, **same options) would build the same encoder on every call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default
)
_PAYLOAD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# What orjson writes byte for byte as _PAYLOAD does (in UTF-8): whole numbers up to 64 bits,
# text that is valid Unicode, null. Anything else takes the json module's way.
_ORJSON_SAFE = frozenset({int, str, type(None)})


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return _CANONICAL.encode(value)


_ORJSON_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def bulk_canonical_json(value: dict[str, Any]) -> str:
    """:func:`canonical_json` of a record snapshot made of checked values (text, whole numbers,
    decimals, dates, lists and mappings of them, never floats), for bulk writers: orjson
    writes these byte for byte as the json module does, in half the time."""
    try:
        return orjson.dumps(value, default=_json_default, option=_ORJSON_CANONICAL).decode()
    except orjson.JSONEncodeError:  # beyond 64 bits, a lone surrogate, an unknown type
        return _CANONICAL.encode(value)


def event_hash(
    seq: int,
    prev_hash: str,
    occurred_at: str,
    actor: str,
    action: str,
    entity_kind: str,
    entity_id: int,
    external_id: str | None,
    before: str | None,
    after: str | None,
) -> str:
    items = [seq, prev_hash, occurred_at, actor, action, entity_kind, entity_id, external_id]
    items += [before, after]
    if _ORJSON_SAFE.issuperset(map(type, items)):
        try:
            return hashlib.sha256(orjson.dumps(items)).hexdigest()
        except orjson.JSONEncodeError:  # beyond 64 bits, or text with a lone surrogate
            pass
    return hashlib.sha256(_PAYLOAD.encode(items).encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- snapshots of ORM records
def _column_value(obj: Any, key: str, committed: bool) -> Any:
    if not committed:
        return getattr(obj, key)
    history = get_history(obj, key)
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(obj, key)


def snapshot(obj: Any, *, committed: bool = False) -> dict[str, Any]:
    """The record as plain data; ``committed`` gives the values before pending changes."""
    mapper = instance_state(obj).mapper
    # A model may keep columns out of the log (secrets such as password hashes, counters).
    skipped = SKIPPED_COLUMNS | getattr(type(obj), "__audit_skip__", frozenset())
    data: dict[str, Any] = {}
    for column_attr in mapper.column_attrs:
        if column_attr.key not in skipped:
            data[column_attr.key] = _column_value(obj, column_attr.key, committed)
    for relationship in mapper.relationships:
        target = relationship.mapper.class_
        if not getattr(target, "__audit_parent__", None) or not relationship.uselist:
            continue
        if committed:
            history = get_history(obj, relationship.key)
            children = list(history.unchanged) + list(history.deleted)
            if not history.added and not history.deleted and not history.unchanged:
                children = list(getattr(obj, relationship.key))
        else:
            children = list(getattr(obj, relationship.key))
        rows = [_child_snapshot(child, committed) for child in children]
        data[relationship.key] = sorted(rows, key=lambda r: r.get("position") or 0)
    return data


def _child_snapshot(child: Any, committed: bool) -> dict[str, Any]:
    mapper = instance_state(child).mapper
    skipped = {"id"} | {
        c.key
        for c in mapper.column_attrs
        if c.key.endswith("_id") and c.key == f"{child.__audit_parent__}_id"
    }
    return {
        attr.key: _column_value(child, attr.key, committed)
        for attr in mapper.column_attrs
        if attr.key not in skipped
    }


def _audit_root(obj: Any) -> Any | None:
    if getattr(type(obj), "__audit_kind__", None):
        return obj
    parent_key = getattr(type(obj), "__audit_parent__", None)
    if parent_key:
        return getattr(obj, parent_key, None)
    return None


# ---------------------------------------------------------------- buffering and writing
@dataclass(slots=True)
class PendingEvent:
    """An event waiting for its place in the chain; ``before`` and ``after`` are canonical
    JSON already."""

    action: str
    entity_kind: str
    entity_id: int
    external_id: str | None
    before: str | None
    after: str | None
    actor: str
    occurred_at: str


def buffer_event(
    session: Session,
    *,
    action: str,
    entity_kind: str,
    entity_id: int,
    external_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Queue one event for this transaction (written before commit, or by write_pending)."""
    session.info.setdefault(_BUFFER_KEY, []).append(
        PendingEvent(
            action=action,
            entity_kind=entity_kind,
            entity_id=entity_id,
            external_id=external_id,
            before=canonical_json(before),
            after=canonical_json(after),
            actor=current_actor.get(),
            occurred_at=now_iso(),
        )
    )


def buffer_events(session: Session, events: Iterable[PendingEvent]) -> None:
    """Queue events whose snapshots a bulk writer has already put in canonical JSON."""
    session.info.setdefault(_BUFFER_KEY, []).extend(events)


# Built once, on the table rather than the ORM class: a statement built per commit, and the
# ORM's bulk-update machinery, cost more than SQLite takes to run it.
@cache
def _head_statement(lock: bool) -> Select[Any]:
    table = AUDIT_CHECKPOINT
    statement = select(table.c.head_seq, table.c.head_hash).where(table.c.id == 1)
    return statement.with_for_update() if lock else statement


@cache
def _move_head_statement() -> Update:
    table = AUDIT_CHECKPOINT
    return (
        update(table)
        .where(table.c.id == 1)
        .values(head_seq=bindparam("seq"), head_hash=bindparam("hash"))
    )


def _lock_head(session: Session) -> tuple[int, str]:
    statement = _head_statement(session.get_bind().dialect.name == "postgresql")
    row = session.execute(statement).first()
    if row is None:
        session.execute(insert(AuditCheckpoint).values(id=1, head_seq=0, head_hash=GENESIS_HASH))
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


EVENT_COLUMNS = (
    "seq", "occurred_at", "actor", "action", "entity_kind", "entity_id", "external_id",
    "before", "after", "prev_hash", "hash",
)  # fmt: skip


def write_pending(session: Session) -> int:
    """Append every buffered event to the chain now; returns how many were written."""
    pending: list[PendingEvent] = session.info.pop(_BUFFER_KEY, [])
    if not pending:
        return 0
    seq, prev = _lock_head(session)
    rows = []
    for item in pending:
        seq += 1
        digest = event_hash(
            seq,
            prev,
            item.occurred_at,
            item.actor,
            item.action,
            item.entity_kind,
            item.entity_id,
            item.external_id,
            item.before,
            item.after,
        )
        rows.append(
            (
                seq,
                item.occurred_at,
                item.actor,
                item.action,
                item.entity_kind,
                item.entity_id,
                item.external_id,
                item.before,
                item.after,
                prev,
                digest,
            )
        )
        prev = digest
    insert_many(session, AUDIT_EVENTS, EVENT_COLUMNS, rows)
    session.execute(_move_head_statement(), {"seq": seq, "hash": prev})
    return len(rows)


def insert_many(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT ``rows``, tuples of values in the order of ``columns``, in this transaction.

    On SQLite the tuples go to the driver's ``executemany`` as they are, after the columns'
    own bind processing (JSON, dates), which is what SQLAlchemy would send: its per-row
    parameter handling costs more than SQLite's insert itself. Elsewhere they go through
    SQLAlchemy Core (on PostgreSQL as multi-row INSERTs)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "sqlite":
        sql = _sqlite_insert(dialect, table, tuple(columns))
        if sql is not None:
            connection.exec_driver_sql(sql, _processed(dialect, table, columns, rows))
            return
    session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


# Compiled once per dialect, table and columns: the writers of one event per request (every
# commit) would otherwise pay for compiling the INSERT each time. Bounded: tests make many
# engines, each with its own dialect.
@lru_cache(maxsize=64)
def _sqlite_insert(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> str | None:
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    return str(compiled) if compiled.positiontup == list(columns) else None


@lru_cache(maxsize=64)
def _processors(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[tuple[int, Any], ...]:
    return tuple(
        (index, processor)
        for index, name in enumerate(columns)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    )


def _processed(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows with each column's bind processor applied, as SQLAlchemy would apply it."""
    processors = _processors(dialect, table, tuple(columns))
    if not processors:
        return rows
    by_column: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for index, processor in processors:
        values = by_column[index]
        first = values[0]
        if all(value is first for value in values):  # e.g. one timestamp for every row
            by_column[index] = [processor(first)] * len(values)
        else:
            by_column[index] = list(map(processor, values))
    return list(zip(*by_column, strict=True))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    pending: dict[int, tuple[Any, str, dict[str, Any] | None]] = session.info.setdefault(
        _PENDING_KEY, {}
    )
    touched: list[Any] = []
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if obj in session.dirty and not session.is_modified(obj):
            continue
        root = _audit_root(obj)
        if root is not None:
            touched.append(root)
    for root in touched:
        if id(root) in pending:
            continue
        if root in session.new:
            pending[id(root)] = (root, "create", None)
        elif root in session.deleted:
            pending[id(root)] = (root, "delete", snapshot(root, committed=True))
        else:
            pending[id(root)] = (root, "update", snapshot(root, committed=True))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING_KEY, {})
    for root, action, before in pending.values():
        after = None if action == "delete" else snapshot(root)
        if action == "update" and canonical_json(before) == canonical_json(after):
            continue
        buffer_event(
            session,
            action=action,
            entity_kind=type(root).__audit_kind__,
            entity_id=root.id,
            external_id=getattr(root, "external_id", None),
            before=before,
            after=after,
        )


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()
    write_pending(session)


# A savepoint rolled back takes back only the events queued since it began: the outer
# transaction may still commit what came before (``after_rollback`` fires for savepoints too,
# so clearing everything there lost those events). Marks are buffer lengths per savepoint.
_MARKS_KEY = "audit_savepoint_marks"


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_MARKS_KEY, {})
        marks[id(transaction)] = len(session.info.get(_BUFFER_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _after_savepoint_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        return  # the outermost transaction: see _after_transaction_end
    mark = session.info.get(_MARKS_KEY, {}).pop(id(previous), None)
    queued = session.info.get(_BUFFER_KEY)
    if mark is not None and queued is not None:
        del queued[mark:]
    session.info.pop(_PENDING_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended (committed, rolled back or closed): whatever is still
    queued belonged to it and was either written before commit or rolled back with it."""
    if transaction.parent is None and not transaction.nested:
        for key in (_BUFFER_KEY, _PENDING_KEY, _MARKS_KEY):
            session.info.pop(key, None)


# ---------------------------------------------------------------- verification
@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events_checked: int
    head_seq: int
    first_bad_seq: int | None = None
    reason: str | None = None  # message id


def _rows(session: Session) -> Iterator[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    yield from session.scalars(statement)


def verify_chain(session: Session, expect: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the chain from the first event; name the first sequence number that is wrong."""
    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    for row in _rows(session):
        if row.seq != expected_seq:
            # A gap means rows were deleted; a smaller number means rows were moved in.
            bad = min(row.seq, expected_seq)
            return VerifyReport(
                False,
                checked,
                expected_seq - 1,
                bad,
                N_("Sequence {seq} is missing or out of order."),
            )
        if row.prev_hash != prev:
            return VerifyReport(
                False,
                checked,
                row.seq,
                row.seq,
                N_("Event {seq} does not follow the event before it."),
            )
        recomputed = event_hash(
            row.seq,
            row.prev_hash,
            row.occurred_at,
            row.actor,
            row.action,
            row.entity_kind,
            row.entity_id,
            row.external_id,
            row.before,
            row.after,
        )
        if recomputed != row.hash:
            return VerifyReport(
                False,
                checked,
                row.seq,
                row.seq,
                N_("Event {seq} was changed after it was written."),
            )
        prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    last_seq = expected_seq - 1
    head = session.execute(
        select(AuditCheckpoint.head_seq, AuditCheckpoint.head_hash).where(AuditCheckpoint.id == 1)
    ).first()
    heads: list[tuple[int, str]] = []
    if head is not None:
        heads.append((int(head[0]), str(head[1])))
    elif last_seq > 0:
        return VerifyReport(False, checked, last_seq, 1, N_("The chain's checkpoint is missing."))
    if expect is not None:
        heads.append(expect)
    for head_seq, head_hash in heads:
        if head_seq > last_seq:
            return VerifyReport(
                False,
                checked,
                last_seq,
                last_seq + 1,
                N_("Events from sequence {seq} on were cut off."),
            )
        if head_seq < last_seq:
            return VerifyReport(
                False,
                checked,
                last_seq,
                head_seq + 1,
                N_("Event {seq} was added after the checkpoint."),
            )
        if head_hash != prev:
            return VerifyReport(
                False, checked, last_seq, last_seq, N_("Event {seq} does not match the checkpoint.")
            )
    return VerifyReport(True, checked, last_seq)


def head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditCheckpoint.head_seq, AuditCheckpoint.head_hash).where(AuditCheckpoint.id == 1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def events_for(session: Session, entity_kind: str, entity_id: int) -> Iterable[AuditEvent]:
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_kind == entity_kind, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.seq)
    )

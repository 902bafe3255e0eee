"""Security events: every denied request and every read of a non-public record.

Events are noted while a request or command runs and handed over when it ends (a read-only
request has no write transaction to put them in, and a denied write is rolled back):
see :func:`flush`.

- A request that noted anything but reads (a denial, a refused token, …) has its events
  written at once, in their own short transaction, together with any reads still waiting, so
  events keep their order and a denial is in the table when its response leaves.
- Reads of non-public records are many (a signed-in member paging through a list notes one
  per internal row it sees): they wait in a buffer of the process and are written together,
  in one transaction, once :data:`FLUSH_EVERY` events are waiting or, at the latest,
  :data:`FLUSH_AFTER` seconds after the oldest arrived (a background thread), when the
  application shuts down (its lifespan calls :func:`drain`), when the process exits, and when
  the database's engine is disposed. One write every two seconds instead of one per request
  keeps SQLite's write lock free for the application's own writes. The table has no change
  triggers (``migrations/change_tracking.py``), so these writes leave the lists and
  credentials remembered by ``registry.repository`` and ``accounts.authn`` in use. The two
  seconds end on the marks of the wall clock (0, 2, 4 … seconds), not two seconds after each
  process's first event, so the workers of a server write together. A process killed outright
  loses the reads of its last two seconds.
- A write that fails loses nothing: the events go back to the front of the buffer, the failure
  is logged, and the write is tried again (after 1, 2, 4, … up to 60 seconds). Only if
  :data:`MAX_WAITING` events pile up are the oldest given up, and each of those is logged in
  full at CRITICAL level, so that it survives in the logs. :func:`drain` writes everything
  now (tests, shutdown).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event, insert

from shelfbridge.accounts.actor import current_actor
from shelfbridge.accounts.models import SecurityEvent
from shelfbridge.core.database import Database
from shelfbridge.core.models import utcnow

logger = logging.getLogger(__name__)

FLUSH_EVERY = 200  # events waiting
FLUSH_AFTER = 2.0  # seconds the oldest may wait, at most
MAX_WAITING = 100_000  # beyond this the oldest are logged and given up
RETRY_MAX = 60.0  # seconds between tries of a failing write, at most

_pending: ContextVar[list[dict[str, Any]] | None] = ContextVar("security_events", default=None)
_request: ContextVar[tuple[str, str] | None] = ContextVar("security_request", default=None)


def begin(method: str | None = None, path: str | None = None) -> None:
    """Start collecting events for one request or command."""
    _pending.set([])
    _request.set((method or "", path or ""))


def note(
    action: str, reason: str, *, target_kind: str | None = None, target_id: int | None = None
) -> None:
    pending = _pending.get()
    if pending is None:
        return  # outside a request or command (e.g. a unit test of a service): nothing to keep
    method, path = _request.get() or ("", "")
    pending.append(
        {
            "occurred_at": utcnow(),
            "actor": current_actor.get().label,
            "action": action,
            "method": method or None,
            "path": path or None,
            "target_kind": target_kind,
            "target_id": target_id,
            "reason": reason,
        }
    )


def note_read(kind: str, ident: int, confidentiality: str) -> None:
    """A read of one record, noted when it is not public and the reader is not the platform."""
    if confidentiality != "public" and current_actor.get().kind != "system":
        note("read", f"{confidentiality} record", target_kind=kind, target_id=ident)


def note_reads(kind: str, records: Iterable[Any]) -> None:
    """Reads of records that are not public, by anyone but the platform itself."""
    if current_actor.get().kind == "system":
        return
    for record in records:
        note_read(kind, record.id, getattr(record, "confidentiality", "public"))


def flush(database: Database) -> int:
    """Hand over what this request or command noted; returns how many events were written
    now (reads alone wait in the buffer and are written shortly)."""
    pending = _pending.get()
    _pending.set(None)
    if not pending:
        return 0
    writer = _writer_for(database.writer)
    if all(e["action"] == "read" for e in pending):
        writer.add(pending)
        return 0
    return writer.write_now(pending)


def drain(database: Database | None = None) -> int:
    """Write every waiting event now (of one database, or of all); returns how many."""
    with _WRITERS_LOCK:
        writers = list(_WRITERS.values())
    if database is not None:
        writers = [w for w in writers if w.engine is database.writer]
    return sum(w.write_now([]) for w in writers)


def waiting() -> int:
    """How many events wait in this process's buffers."""
    with _WRITERS_LOCK:
        return sum(len(w.events) for w in _WRITERS.values())


class _EventWriter:
    """The buffer of one database (its writing engine) and the writes that empty it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.events: list[dict[str, Any]] = []
        self.oldest = 0.0  # monotonic time the oldest waiting event arrived
        self.deadline = 0.0  # monotonic time the waiting events are written, at the latest
        self.failures = 0
        self.retry_at = 0.0
        self.lock = threading.Lock()  # the buffer
        self.writing = threading.Lock()  # one write at a time, so events keep their order

    def add(self, events: list[dict[str, Any]]) -> None:
        with self.lock:
            first = not self.events
            if first:
                self.oldest = time.monotonic()
                self.deadline = self.oldest + _until_next_mark()
            self.events.extend(events)
            full = len(self.events) >= FLUSH_EVERY
        if first or full:  # a new deadline, or due now: otherwise the thread knows already
            _FLUSHER.wake()

    def due(self, now: float) -> float | None:
        """When this buffer should be written next (None: nothing waits)."""
        with self.lock:
            if not self.events:
                return None
            if self.failures:
                return self.retry_at
            return now if len(self.events) >= FLUSH_EVERY else self.deadline

    def write_now(self, extra: list[dict[str, Any]]) -> int:
        """Write what waits and ``extra`` (after it) in one transaction; returns how many.
        On failure everything goes back to the buffer, to be tried again."""
        with self.writing:
            with self.lock:
                batch = self.events + extra
                self.events = []
            if not batch:
                return 0
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(SecurityEvent), batch)
            except Exception:
                self._keep(batch)
                return 0
            with self.lock:
                self.failures = 0
            return len(batch)

    def _keep(self, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.events = batch + self.events
            self.oldest = time.monotonic()
            self.failures += 1
            delay = min(RETRY_MAX, 2.0 ** (self.failures - 1))
            self.retry_at = time.monotonic() + delay
            dropped = self.events[:-MAX_WAITING] if len(self.events) > MAX_WAITING else []
            if dropped:
                del self.events[: len(dropped)]
            count = len(self.events)
        logger.exception(
            "could not write %d security events; they wait in memory, next try in %.0f s",
            count,
            delay,
        )
        for lost in dropped:
            logger.critical("security event given up after failed writes: %s", _as_json(lost))
        _FLUSHER.wake()

    def give_up(self) -> None:
        """Log, in full, whatever could not be written before the process ends."""
        with self.lock:
            lost, self.events = self.events, []
        for event_ in lost:
            logger.critical("security event not written before exit: %s", _as_json(event_))


def _until_next_mark() -> float:
    """Seconds to the next multiple of FLUSH_AFTER on the wall clock (at most FLUSH_AFTER):
    every process on the machine reads the same clock, so their writes fall together."""
    return FLUSH_AFTER - time.time() % FLUSH_AFTER


def _as_json(event_: dict[str, Any]) -> str:
    return json.dumps(event_, default=str, ensure_ascii=False, sort_keys=True)


class _Flusher:
    """One background thread per process that writes buffers when they are due."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._poked = False

    def wake(self) -> None:
        """Look at the buffers again (one has a new deadline, or is due now)."""
        with self._condition:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="security-events", daemon=True
                )
                self._thread.start()
            self._poked = True
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                self._poked = False
            with _WRITERS_LOCK:
                writers = list(_WRITERS.values())
            next_due: float | None = None
            for writer in writers:
                when = writer.due(time.monotonic())
                if when is not None and when <= time.monotonic():
                    writer.write_now([])
                    when = writer.due(time.monotonic())
                if when is not None:
                    next_due = when if next_due is None else min(next_due, when)
            with self._condition:
                if self._poked:  # woken while looking: look again
                    continue
                timeout = None if next_due is None else max(0.0, next_due - time.monotonic())
                self._condition.wait(timeout)


_FLUSHER = _Flusher()
_WRITERS: dict[Engine, _EventWriter] = {}
_WRITERS_LOCK = threading.Lock()


def _writer_for(engine: Engine) -> _EventWriter:
    with _WRITERS_LOCK:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = _EventWriter(engine)
            if not event.contains(engine, "engine_disposed", _on_disposed):
                event.listen(engine, "engine_disposed", _on_disposed)
        return writer


def _on_disposed(engine: Engine) -> None:
    """Write what waits before a database is let go of (tests, shutdown); the engine stays
    usable after disposal, so the write opens one connection and its pool is emptied again."""
    with _WRITERS_LOCK:
        writer = _WRITERS.pop(engine, None)
    if writer is None:
        return
    writer.write_now([])
    engine.pool.dispose()
    writer.give_up()  # anything that still could not be written


@atexit.register
def _at_exit() -> None:
    with _WRITERS_LOCK:
        writers = list(_WRITERS.values())
    for writer in writers:
        writer.write_now([])
        writer.give_up()

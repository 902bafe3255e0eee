"""The state of the application's data: a value that changes whenever a commit changes it, by
any connection of any process, read without a query of the caller's.

What was computed from the database in one state can be used again while the state is the same
(list totals and page positions, credentials looked up for a request): a commit changes the
state, so nothing computed before it is used after it. Read the state *before* reading what
it is to describe, so that whatever is read is at least as new as the state it is filed under.

The state is the change counter of migration 0011 (``migrations/change_tracking.py``): triggers
raise it with every commit that changes a table, except the security events, which are written
every two seconds while signed-in users read internal records and change nothing remembered.

- SQLite: ``PRAGMA data_version`` tells, in microseconds, whether *another* connection has
  committed anything since the last look. So each engine gets one connection of its own that
  never writes (the probe); only when that value moves does the probe read the counter again.
  An in-memory database has no other connections; it has no state here.
- PostgreSQL: one query of the counter (:data:`COUNTER_QUERY`), on a connection of our own in
  autocommit mode: one round trip, where a pooled connection's transaction (``BEGIN``, the
  caller's settings, the query, ``ROLLBACK``) costs four. A unit of work that has its
  transaction anyway asks inside it instead (``registry.repository``).
On PostgreSQL the counter value the probe read for a request's credentials also serves that
request's first unit of work (:func:`take_request_counter`), which would otherwise ask for it
in a round trip of its own: it was read before the unit of work read anything, and a commit
in between (any commit through the engine, in the request's context) makes it unusable.
A SQLite database without the counter (older than revision 0011) falls back to its
``data_version`` itself: any commit changes the state; a PostgreSQL one has no state here.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import threading
import time
import weakref
from collections.abc import Hashable
from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event

COUNTER_QUERY = "SELECT version FROM change_counter WHERE id = 1"
PROBE_RETRY_AFTER = 5.0  # seconds a failed PostgreSQL probe waits before it tries again
_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK (psycopg.pq.ExecStatus), without importing psycopg


class DatabaseState:
    """The state probe of one engine's database."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        database = url.database
        usable = (
            engine.dialect.name == "sqlite"
            and bool(database)
            and database != ":memory:"
            and not str(database).startswith("file:")
            and not url.query.get("uri")
        )
        self.path = database if usable else None
        # Weakly: the engine is the key of this probe in _STATES, which must not keep it alive.
        self._engine = weakref.ref(engine) if engine.dialect.name == "postgresql" else None
        self._lock = threading.Lock()
        self._probe: sqlite3.Connection | None = None
        self._pg_probe: Any = None  # a DBAPI (psycopg) connection in autocommit mode
        self._serial = 0  # which probe: each counts on its own, so states name their probe
        self._data_version: int | None = None
        self._retry_at = 0.0  # monotonic time before which a failed PostgreSQL probe waits
        self._state: Hashable = None

    def current(self) -> Hashable | None:
        """The state now, or None when this database has none to offer."""
        if self._engine is not None:
            return self._postgresql()
        if self.path is None:
            return None
        with self._lock:
            if self._probe is None:
                self._probe = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None
                )
                self._serial = next(_probes)
                self._data_version = None
            # fetchall() finishes each statement, so the probe never holds a read transaction.
            data_version: int = self._probe.execute("PRAGMA data_version").fetchall()[0][0]
            if data_version != self._data_version:
                self._state = ("sqlite", self._serial, self._counter(data_version))
                self._data_version = data_version
            return self._state

    def _counter(self, data_version: int) -> Hashable:
        assert self._probe is not None
        try:
            rows = self._probe.execute(COUNTER_QUERY).fetchall()
        except sqlite3.OperationalError:  # no counter (yet): every commit counts
            return ("commits", data_version)
        return ("changes", rows[0][0]) if rows else ("commits", data_version)

    def _postgresql(self) -> Hashable | None:
        engine = self._engine() if self._engine is not None else None
        if engine is None:
            return None
        with self._lock:
            if time.monotonic() < self._retry_at:
                return None  # the probe failed a moment ago: no state until it may try again
            for attempt in (1, 2):  # a connection the server has dropped is made afresh once
                try:
                    if self._pg_probe is None:
                        self._pg_probe = _autocommit_connection(engine)
                        self._serial = next(_probes)
                    # libpq itself (psycopg's documented ``pgconn``): a cursor's machinery
                    # costs more than the round trip.
                    found = self._pg_probe.pgconn.exec_(COUNTER_QUERY.encode())
                    if found.status != _TUPLES_OK:
                        raise RuntimeError(found.get_error_message())
                    if found.ntuples == 0:
                        return None
                    counter = int(found.get_value(0, 0))
                    _request_counter.set((weakref.ref(engine), counter))
                    return ("postgresql", self._serial, counter)
                except Exception:
                    self._close_pg_probe()
                    if attempt == 2:
                        self._retry_at = time.monotonic() + PROBE_RETRY_AFTER
                        return None  # no state: callers read afresh, as without a memory
        return None

    def _close_pg_probe(self) -> None:
        if self._pg_probe is not None:
            with contextlib.suppress(Exception):  # already broken: nothing more to let go of
                self._pg_probe.close()
            self._pg_probe = None

    def close(self) -> None:
        with self._lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
            self._close_pg_probe()


def _autocommit_connection(engine: Engine) -> Any:
    """A DBAPI connection to the engine's database outside its pool, in autocommit mode: its
    statements are their own transactions, and none of the pool's events (the caller's
    settings of ``core.database``) run on it."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    # The probe may run on the event loop (authn.known_token): an unreachable server must not
    # hold it for the operating system's TCP timeout. Without a state, requests read afresh.
    cparams.setdefault("connect_timeout", 5)
    connection = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
    connection.autocommit = True
    return connection


# The counter read by the probe for this request (engine, value); see the module's docstring.
_request_counter: ContextVar[tuple[weakref.ref[Engine], int] | None] = ContextVar(
    "request_counter", default=None
)


def take_request_counter(engine: Engine) -> int | None:
    """The change counter read for this request's credentials, if it was read on ``engine``
    and nothing was committed since; once: a later unit of work reads it afresh."""
    kept = _request_counter.get()
    if kept is None or kept[0]() is not engine:
        return None
    _request_counter.set(None)
    return kept[1]


def _forget_request_counter(*_args: Any) -> None:
    _request_counter.set(None)


_probes = itertools.count(1)  # no two probes, of any engine, share a serial
_STATES: WeakKeyDictionary[Engine, DatabaseState] = WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def state_of(engine: Engine) -> DatabaseState:
    """The state probe of an engine's database (one per engine, closed when it is disposed)."""
    with _STATES_LOCK:
        state = _STATES.get(engine)
        if state is None:
            state = _STATES[engine] = DatabaseState(engine)
            event.listen(engine, "engine_disposed", lambda _engine: state.close())
            event.listen(engine, "commit", _forget_request_counter)
        return state

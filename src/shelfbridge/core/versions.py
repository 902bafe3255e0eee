"""The state of a SQLite database: a value that changes whenever anything is committed to it,
by any connection of any process, read in a few microseconds without a query of the caller.

What was computed from the database in one state can be used again while the state is the same
(list totals and page positions, credentials looked up for a request): a commit changes the
state, so nothing computed before it is used after it. Read the state *before* reading what
it is to describe, so that whatever is read is at least as new as the state it is filed under.

``PRAGMA data_version`` answers this per connection: it changes when *another* connection has
committed. So each engine gets one connection of its own that never writes (the probe), and
every commit by the application's pooled connections, other processes or the command line is
another connection's. An in-memory database has no other connections; it has no state here.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Hashable
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event


class DatabaseState:
    """The state probe of one engine's SQLite database file."""

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
        self._lock = threading.Lock()
        self._probe: sqlite3.Connection | None = None
        self._serial = 0  # which probe: each counts on its own, so states name their probe

    def current(self) -> Hashable | None:
        """The state now, or None when this database has none to offer."""
        if self.path is None:
            return None
        with self._lock:
            if self._probe is None:
                self._probe = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None
                )
                self._serial = next(_probes)
            # fetchall() finishes the statement, so the probe never holds a read transaction.
            value: int = self._probe.execute("PRAGMA data_version").fetchall()[0][0]
            return ("sqlite", self._serial, value)

    def close(self) -> None:
        with self._lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None


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
        return state

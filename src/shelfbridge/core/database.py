"""Engines, sessions and the unit of work.

Services never commit; the request or CLI command that opened the unit of work commits once
or rolls back. On SQLite a writing unit of work starts with ``BEGIN IMMEDIATE`` so that two
writers queue on the lock instead of failing half-way (the audit chain needs one writer at a
time); readers use plain deferred transactions and never wait for writers (WAL).

On PostgreSQL every transaction starts by telling the database who is asking (one statement,
:data:`SET_CALLER`), so that the row-level security policies of migration 0004 can act as a
second wall behind the application's own rules (``accounts.visibility``). A reading unit of
work's transaction is read-only (the same statement says so) and ends with ``COMMIT``: psycopg
forgets its prepared statements on every ``ROLLBACK``, so reads that ended by rolling back
had every statement planned afresh (0.35 ms for a signed-in member's page of results).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.core.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _configure_sqlite(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


# The caller of a transaction, as the row-level security policies read it. set_config(…, true)
# lasts until the transaction ends, so a pooled connection never carries one caller's
# organisations into the next transaction.
SET_CALLER = (
    "SELECT set_config('shelfbridge.actor', %(actor)s, true),"
    " set_config('shelfbridge.unrestricted', %(unrestricted)s, true),"
    " set_config('shelfbridge.read_orgs', %(read_orgs)s, true),"
    " set_config('shelfbridge.write_orgs', %(write_orgs)s, true)"
)
# Reading units of work use this one: read-only may be set at any point of a transaction, and
# any write in it then fails instead of being committed with the reads.
SET_CALLER_READ_ONLY = SET_CALLER + ", set_config('transaction_read_only', 'on', true)"
READ_ONLY_OPTION = "shelfbridge_read_only"  # an execution option of the reading sessions' bind
# The permissions of accounts.visibility (READ_INTERNAL, WRITE), which cannot be imported here:
# it imports the models, and they import this module.
READ_INTERNAL = "record.read_internal"
WRITE = "record.write"


def _org_list(organizations: frozenset[int]) -> str:
    return ",".join(str(org) for org in sorted(organizations))


def caller_settings(actor: Actor) -> dict[str, str]:
    """What the policies are told about ``actor``: who, whether unrestricted, and which
    organisations it reads internal records of and writes records of."""
    if actor.is_unrestricted:
        return {"actor": actor.label, "unrestricted": "1", "read_orgs": "", "write_orgs": ""}
    return {
        "actor": actor.label,
        "unrestricted": "0",
        "read_orgs": _org_list(actor.orgs_with(READ_INTERNAL)),
        "write_orgs": _org_list(actor.orgs_with(WRITE)),
    }


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Runs before any other statement of the transaction (psycopg sends its implicit
        # BEGIN first, as it always does): one extra statement, one round trip, per
        # transaction. The caller is fixed for the whole transaction.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION)
        statement = SET_CALLER_READ_ONLY if read_only else SET_CALLER
        connection.exec_driver_sql(statement, caller_settings(current_actor.get()))


def make_engine(url: str, *, writer: bool = False) -> Engine:
    if is_sqlite(url):
        engine = create_engine(url, pool_size=10, max_overflow=20)
        _configure_sqlite(engine, "BEGIN IMMEDIATE" if writer else "BEGIN")
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


@dataclass(frozen=True)
class ConnectionRole:
    """What the database role of a connection may do beyond the application's grants."""

    name: str
    superuser: bool
    bypasses_rls: bool
    owned_tables: tuple[str, ...]  # tables it owns, or whose owner's rights it inherits

    @property
    def is_safe(self) -> bool:
        return not (self.superuser or self.bypasses_rls or self.owned_tables)


ROLE_QUERY = text(
    """
    SELECT r.rolname, r.rolsuper, r.rolbypassrls,
           coalesce(array_agg(c.relname::text ORDER BY c.relname)
                    FILTER (WHERE c.oid IS NOT NULL), '{}')
    FROM pg_roles r
    LEFT JOIN pg_class c
      ON c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace
     AND pg_has_role(r.oid, c.relowner, 'USAGE')
    WHERE r.rolname = current_user
    GROUP BY r.rolname, r.rolsuper, r.rolbypassrls
    """
)


# The engine behind each reading sessions' bind: what is kept per engine (list memories,
# state probes, match runtimes) is kept for the engine itself, whichever bind asks.
_BASE_ENGINES: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def base_engine(bind: Engine | Connection) -> Engine:
    """The engine of a session's bind or connection: a reading session's bind is the reader
    engine with an execution option, sharing its pool and events."""
    engine = bind.engine
    return _BASE_ENGINES.get(engine, engine)


class Database:
    """The engines of one database and the sessions made from them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.reader = make_engine(url)
        self.writer = make_engine(url, writer=True) if is_sqlite(url) else self.reader
        # The same engine (its pool and events), with an option that makes its transactions
        # read-only on PostgreSQL.
        read_bind = self.reader.execution_options(**{READ_ONLY_OPTION: True})
        _BASE_ENGINES[read_bind] = self.reader
        self._read_sessions = sessionmaker(read_bind, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        url = settings.resolved_database_url()
        if is_sqlite(url):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(url)

    @property
    def dialect(self) -> str:
        return self.reader.dialect.name

    def session(self, *, write: bool) -> Session:
        return self._write_sessions() if write else self._read_sessions()

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        session = self.session(write=write)
        try:
            yield session
            # A read-only transaction commits nothing; COMMIT keeps psycopg's prepared
            # statements, which ROLLBACK would throw away.
            if write or self.dialect == "postgresql":
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            # close() ends a read transaction without expiring what was loaded.
            session.close()

    def connection_role(self) -> ConnectionRole | None:
        """The role this database is reached as (PostgreSQL only; None on SQLite)."""
        if self.dialect != "postgresql":
            return None
        with self.reader.connect() as connection:
            row = connection.execute(ROLE_QUERY).one()
        return ConnectionRole(str(row[0]), bool(row[1]), bool(row[2]), tuple(row[3]))

    def dispose(self) -> None:
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()

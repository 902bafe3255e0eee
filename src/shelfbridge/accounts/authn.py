"""Who is asking: a session cookie or a bearer token turned into an :class:`Actor`.

One indexed query reads the credential, its user and the user's live memberships together.
Its rows are kept and used again while the database's data has not changed since they were
read (:mod:`shelfbridge.core.versions`: any commit that changes a table, by any process,
changes its state), so disabling a user, ending a membership, ending a session or revoking a
token still takes effect on the very next request; the checks against the clock (expiry,
timeouts) run on every request. Telling the state costs a few microseconds on SQLite and one
round trip on PostgreSQL, where reading the rows costs four.
The credential's ``last_seen_at`` / ``last_used_at`` is written at most once a minute.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select, update

from shelfbridge.accounts import sessions, tokens
from shelfbridge.accounts.actor import Actor, user_actor
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.accounts.models import ApiToken, Membership, User, WebSession
from shelfbridge.core.database import Database
from shelfbridge.core.versions import state_of

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    via: str  # session | token
    credential_id: int
    display_name: str
    csrf_token: str | None = None  # sessions only


@dataclass(frozen=True)
class Refused:
    """A credential that was presented but no longer signs anyone in, and why."""

    reason: str
    user_id: int | None = None


_USER_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.is_platform_admin,
    User.person_id,
    User.disabled_at,
    Membership.organization_id,
    Membership.role,
)
_LIVE_MEMBERSHIP = and_(Membership.user_id == User.id, Membership.ended_at.is_(None))

SESSION_QUERY = (
    select(
        WebSession.id,
        WebSession.created_at,
        WebSession.last_seen_at,
        WebSession.csrf_token,
        *_USER_COLUMNS,
    )
    .join(User, User.id == WebSession.user_id)
    .outerjoin(Membership, _LIVE_MEMBERSHIP)
    .where(WebSession.token_hash == bindparam("digest"), WebSession.ended_at.is_(None))
)
TOKEN_QUERY = (
    select(
        ApiToken.id,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        *_USER_COLUMNS,
    )
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Membership, _LIVE_MEMBERSHIP)
    .where(ApiToken.token_hash == bindparam("digest"))
)
_FIRST_USER_COLUMN = 4


def _actor(rows: Sequence[Any]) -> tuple[Actor, str]:
    first = rows[0]
    user_id, username, display_name, is_admin, person_id = first[4:9]
    memberships = [(row[10], row[11]) for row in rows if row[10] is not None]
    return user_actor(user_id, username, bool(is_admin), person_id, memberships), display_name


def _stale(last: datetime | None, now: datetime) -> bool:
    return last is None or now - last >= TOUCH_EVERY


class _Found:
    """The rows of one credential lookup and the actor they make, built once: rows kept for
    the next requests (below) give them the same actor, not a new one each time."""

    __slots__ = ("_actor", "rows")

    def __init__(self, rows: Sequence[Any]) -> None:
        self.rows = rows
        self._actor: tuple[Actor, str] | None = None

    def actor(self) -> tuple[Actor, str]:
        if self._actor is None:
            self._actor = _actor(self.rows)
        return self._actor


CREDENTIALS_KEPT = 1024
_kept: OrderedDict[tuple[int, str], tuple[Hashable, _Found]] = OrderedDict()
_kept_lock = threading.Lock()


def _kept_rows(database: Database, query: Any, digest: str) -> tuple[Hashable | None, Any]:
    """The database's state now, and the rows of ``query`` for a credential's digest if they
    were read in that very state (None otherwise). A state names its database, so rows of one
    database never answer for another."""
    state = state_of(database.reader).current()
    if state is None:
        return None, None
    with _kept_lock:
        found = _kept.get((id(query), digest))
        if found is None or found[0] != state:
            return state, None
        _kept.move_to_end((id(query), digest))
        return state, found[1]


def _credential_rows(database: Database, query: Any, digest: str) -> _Found:
    """The rows of ``query`` for a credential's digest, read again only when the database has
    changed since they were last read (the state is read first, so that the rows are at least
    as new as the state they are kept under)."""
    state, kept = _kept_rows(database, query, digest)
    if kept is not None:
        found: _Found = kept
        return found
    with database.reader.connect() as connection:
        found = _Found(connection.execute(query, {"digest": digest}).all())
    if state is not None:
        with _kept_lock:
            _kept[(id(query), digest)] = (state, found)
            while len(_kept) > CREDENTIALS_KEPT:
                _kept.popitem(last=False)
    return found


def resolve_session(
    database: Database, secret: str, runtime: AccountsRuntime
) -> Authenticated | Refused:
    now = runtime.now()
    found = _credential_rows(database, SESSION_QUERY, sessions.digest(secret))
    rows = found.rows
    if not rows:
        return Refused("unknown or ended session")
    session_id, created_at, last_seen_at, csrf_token = rows[0][:4]
    user_id, disabled_at = rows[0][_FIRST_USER_COLUMN], rows[0][9]
    policy = runtime.policy
    reason = None
    if disabled_at is not None:
        reason = "user disabled"
    elif now - created_at > policy.session_max:
        reason = "session past its absolute timeout"
    elif now - last_seen_at > policy.session_idle:
        reason = "session inactive too long"
    if reason is not None:
        with database.writer.begin() as connection:
            connection.execute(
                update(WebSession)
                .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                .values(ended_at=now)
            )
        return Refused(reason, user_id)
    if _stale(last_seen_at, now):
        with database.writer.begin() as connection:
            connection.execute(
                update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now)
            )
    actor, display_name = found.actor()
    return Authenticated(actor, "session", session_id, display_name, csrf_token)


def resolve_token(
    database: Database, secret: str, runtime: AccountsRuntime
) -> Authenticated | Refused:
    if not tokens.TOKEN_PATTERN.fullmatch(secret):
        return Refused("malformed token")
    now = runtime.now()
    found = _credential_rows(database, TOKEN_QUERY, tokens.digest(secret))
    outcome = _token_outcome(database, found, now, touch=True)
    assert outcome is not None  # touch=True always answers
    return outcome


def known_token(
    database: Database, secret: str, runtime: AccountsRuntime
) -> Authenticated | Refused | None:
    """What :func:`resolve_token` would answer, when memory alone can tell: the token's rows
    were read in the database's present state and using it writes nothing (``last_used_at``
    is fresh). For the event loop, which then needs no trip through the thread pool; None when
    the answer needs the database."""
    if not tokens.TOKEN_PATTERN.fullmatch(secret):
        return Refused("malformed token")
    _state, found = _kept_rows(database, TOKEN_QUERY, tokens.digest(secret))
    if found is None:
        return None
    return _token_outcome(database, found, runtime.now(), touch=False)


def _token_outcome(
    database: Database, found: _Found, now: datetime, *, touch: bool
) -> Authenticated | Refused | None:
    """The answer for a token's rows; None when ``last_used_at`` needs writing and ``touch``
    is false."""
    rows = found.rows
    if not rows:
        return Refused("unknown token")
    token_id, expires_at, last_used_at, revoked_at = rows[0][:4]
    user_id, disabled_at = rows[0][_FIRST_USER_COLUMN], rows[0][9]
    if revoked_at is not None:
        return Refused("token revoked", user_id)
    if expires_at is not None and expires_at <= now:
        return Refused("token expired", user_id)
    if disabled_at is not None:
        return Refused("user disabled", user_id)
    if _stale(last_used_at, now):
        if not touch:
            return None
        with database.writer.begin() as connection:
            connection.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )
    actor, display_name = found.actor()
    return Authenticated(actor, "token", token_id, display_name)

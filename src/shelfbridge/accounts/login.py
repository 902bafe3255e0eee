"""Signing in, for the login page and the token endpoint.

The slow part (argon2) runs outside any write transaction, so that sign-ins never hold the
database's write lock (SQLite has one for the whole file). What the attempt changes — the
failure count, a lock, or on success a new session or token — is committed in one short unit
of work; a failure is raised only after its count was committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from shelfbridge.accounts import service
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.accounts.models import User
from shelfbridge.core.database import Database

T = TypeVar("T")


def sign_in(
    database: Database,
    runtime: AccountsRuntime,
    username: str,
    password: str,
    *,
    address: str,
    then: Callable[[Session, User], T],
) -> T:
    """Check the credentials; on success run ``then`` (start a session, issue a token) in the
    same transaction that clears the failure count. Raises LoginFailed or LoginThrottled."""
    with database.unit_of_work(write=False) as session:
        attempt = service.check_credentials(session, runtime, username, password, address=address)
    with database.unit_of_work() as session:
        if attempt.succeeded:
            user = service.record_success(session, attempt, password)
            return then(session, user)
        error = service.record_failure(session, runtime, attempt)
    raise error

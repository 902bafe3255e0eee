"""Browser sessions kept on the server: the cookie holds a random secret, the database only its
SHA-256, so a copy of the database signs nobody in, and ending the row ends the session."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from shelfbridge.accounts.models import WebSession

SESSION_COOKIE = "shelfbridge_session"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start(session: Session, user_id: int, now: datetime) -> tuple[str, WebSession]:
    """A new session; returns the cookie value (never stored) and the row."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(
        user_id=user_id,
        token_hash=digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return secret, row


def end(session: Session, session_id: int, now: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_all(session: Session, user_id: int, now: datetime, keep: int | None = None) -> int:
    """End every live session of a user (but ``keep``); returns how many were ended."""
    statement = update(WebSession).where(
        WebSession.user_id == user_id, WebSession.ended_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(WebSession.id != keep)
    result = session.execute(statement.values(ended_at=now))
    return int(getattr(result, "rowcount", 0) or 0)

"""Personal API tokens: ``sb_`` and 40 URL-safe characters, shown once; only the SHA-256 is
stored, with a short prefix to tell tokens apart in lists."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from shelfbridge.accounts import repository
from shelfbridge.accounts.models import ApiToken
from shelfbridge.core.errors import NotFound
from shelfbridge.core.i18n import N_

TOKEN_PREFIX = "sb_"
TOKEN_PATTERN = re.compile(r"^sb_[A-Za-z0-9_-]{40}$")
SHOWN_PREFIX = 10  # "sb_" and 7 characters
DEFAULT_NAME = "API token"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue(
    session: Session,
    user_id: int,
    name: str | None,
    now: datetime,
    lifetime: timedelta | None = None,
) -> tuple[str, ApiToken]:
    """A new token for the user; returns the secret (shown once, never stored) and the row."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    row = ApiToken(
        user_id=user_id,
        name=(name or "").strip()[:100] or DEFAULT_NAME,
        prefix=secret[:SHOWN_PREFIX],
        token_hash=digest(secret),
        created_at=now,
        expires_at=now + lifetime if lifetime else None,
    )
    session.add(row)
    session.flush()
    return secret, row


def revoke(session: Session, user_id: int, token_id: int, now: datetime) -> ApiToken:
    """Revoke one of the user's own tokens; another user's token is reported as not found."""
    token = repository.token_of(session, user_id, token_id)
    if token is None:
        raise NotFound("token", N_("No such API token; it may have been revoked already."))
    token.revoked_at = now
    session.flush()
    return token


def revoke_all(session: Session, user_id: int, now: datetime) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)

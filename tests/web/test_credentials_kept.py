"""On SQLite a token's rows are kept while the database has not changed, and a request then
needs neither a query nor a thread for it (``authn.known_token``); any commit, by anyone,
makes the next request read them again, so a revocation still counts at once."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from shelfbridge.accounts import authn
from shelfbridge.accounts.authn import Authenticated, Refused, known_token, resolve_token
from shelfbridge.core.models import utcnow
from tests import auth

pytestmark = pytest.mark.skipif(
    "postgresql" in (os.environ.get("SHELFBRIDGE_TEST_DATABASE_URL") or ""),
    reason="PostgreSQL reads credentials every time",
)


def test_a_kept_token_answers_without_the_database_until_anything_is_committed(
    app: Any, client: Any, database: Any, db_url: str, monkeypatch: Any
) -> None:
    auth.create_user(database, "kept")
    token = auth.api_token(client, "kept")
    runtime = app.state.accounts
    assert known_token(database, token, runtime) is None  # never read yet
    # The first use writes last_used_at (a commit: what it read is already old); the second
    # reads again and keeps the rows.
    for _ in range(2):
        assert isinstance(resolve_token(database, token, runtime), Authenticated)

    def no_database(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the database was asked")

    with monkeypatch.context() as patched:
        patched.setattr(database.reader, "connect", no_database)
        found = known_token(database, token, runtime)
        assert isinstance(found, Authenticated) and found.actor.username == "kept"
        assert isinstance(resolve_token(database, token, runtime), Authenticated)

    # Revoked by another connection (the command line, another worker): the next lookup
    # reads again and refuses.
    path = make_url(db_url).database
    assert path
    with sqlite3.connect(path) as other:
        other.execute("UPDATE api_tokens SET revoked_at = ?", (utcnow().isoformat(),))
    assert known_token(database, token, runtime) is None
    refused = resolve_token(database, token, runtime)
    assert isinstance(refused, Refused) and refused.reason == "token revoked"
    assert client.get("/api/v1/auth/me", headers=auth.bearer(token)).status_code == 401


def test_a_kept_token_due_to_be_touched_goes_to_the_database(
    app: Any, client: Any, database: Any, monkeypatch: Any
) -> None:
    auth.create_user(database, "touched")
    token = auth.api_token(client, "touched")
    runtime = app.state.accounts
    for _ in range(2):
        assert isinstance(resolve_token(database, token, runtime), Authenticated)
    assert isinstance(known_token(database, token, runtime), Authenticated)
    monkeypatch.setattr(authn, "TOUCH_EVERY", authn.TOUCH_EVERY * 0)  # always stale
    assert known_token(database, token, runtime) is None  # writing last_used_at needs a thread

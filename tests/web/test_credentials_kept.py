"""A token's rows are kept while the data has not changed, and a request then needs no query
of its rows and no thread (``authn.known_token``): on SQLite not even a query, on PostgreSQL
one read of the change counter. Any commit that changes data, by anyone, makes the next request
read them again, so a revocation still counts at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from shelfbridge.accounts import authn
from shelfbridge.accounts.authn import Authenticated, Refused, known_token, resolve_token
from shelfbridge.core.models import utcnow
from tests import auth


def test_a_kept_token_answers_without_the_database_until_anything_is_committed(
    app: Any, client: Any, database: Any, owner_database: Any, monkeypatch: Any
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

    # Revoked by another connection (the command line, another worker, an operator's SQL):
    # the next lookup reads again and refuses.
    with owner_database.writer.begin() as other:
        other.execute(text("UPDATE api_tokens SET revoked_at = :now"), {"now": utcnow()})
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

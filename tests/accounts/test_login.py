"""Signing in and out: cookies, lockout, rate limit, no user enumeration, session timeouts."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from shelfbridge.accounts import passwords
from shelfbridge.accounts.models import SecurityEvent, User, WebSession
from tests import auth
from tests.accounts.conftest import Cast, FakeClock


def _attempt(client: Any, username: str, password: str, **extra: str) -> Any:
    data = auth.with_csrf(client, {"username": username, "password": password, **extra}, "/login")
    return client.post("/login", data=data, follow_redirects=False)


def _events(database: Any, action: str | None = None) -> list[SecurityEvent]:
    with database.unit_of_work(write=False) as session:
        statement = select(SecurityEvent).order_by(SecurityEvent.id)
        if action:
            statement = statement.where(SecurityEvent.action == action)
        return list(session.scalars(statement))


def _sessions(database: Any) -> list[WebSession]:
    with database.unit_of_work(write=False) as session:
        return list(session.scalars(select(WebSession).order_by(WebSession.id)))


def _user(database: Any, username: str) -> User:
    with database.unit_of_work(write=False) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user


def _clears_the_session_cookie(response: Any) -> bool:
    return any(
        c.startswith("shelfbridge_session=") and ("Max-Age=0" in c or "max-age=0" in c.lower())
        for c in response.headers.get_list("set-cookie")
    )


# ---------------------------------------------------------------- success
def test_signing_in_sets_an_http_only_lax_session_cookie_and_goes_to_next(
    client: Any, database: Any, cast: Cast
) -> None:
    response = _attempt(client, "officer-a", auth.PASSWORD, next="/results?kind=paper")
    assert response.status_code == 303
    assert response.headers["location"] == "/results?kind=paper"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("shelfbridge_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    secret = cookie.split(";")[0].split("=", 1)[1]
    [row] = _sessions(database)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.token_hash, row.csrf_token)
    page = client.get("/account")
    assert page.status_code == 200 and "officer-a" in page.text


def test_next_never_leads_to_another_site(client: Any, cast: Cast) -> None:
    response = _attempt(client, "officer-a", auth.PASSWORD, next="//evil.example/x")
    assert response.headers["location"] == "/"


def test_the_cookie_is_secure_over_https_and_when_the_setting_says_so(app: Any, cast: Cast) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as https_client:
        response = _attempt(https_client, "officer-a", auth.PASSWORD)
        assert "Secure" in response.headers["set-cookie"]
    app.state.accounts.policy = app.state.accounts.policy.__class__(cookie_secure=True)
    with TestClient(app) as http_client:
        response = http_client.get("/login")
        assert "Secure" in response.headers["set-cookie"]


def test_the_header_names_the_user_and_offers_to_sign_out(client: Any, cast: Cast) -> None:
    assert 'href="/login?next=' in client.get("/").text
    auth.sign_in(client, "officer-a")
    html = client.get("/").text
    assert 'href="/account"' in html and 'action="/logout"' in html


# ---------------------------------------------------------------- failure, enumeration
def test_unknown_user_and_wrong_password_answer_alike(
    client: Any, database: Any, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = passwords.PasswordHasher.verify

    def spy(self: Any, stored: Any, password: Any) -> Any:
        verified.append(str(password))
        return real_verify(self, stored, password)

    monkeypatch.setattr(passwords.PasswordHasher, "verify", spy)
    wrong = _attempt(client, "officer-a", "not-the-password-1")
    unknown = _attempt(client, "nobody-at-all", "not-the-password-2")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace("officer-a", "X") == unknown.text.replace("nobody-at-all", "X")
    assert (
        "The username or the password is wrong." in wrong.text or "用户名或密码错误" in wrong.text
    )
    # argon2 ran for the unknown user too (timing does not tell them apart)
    assert verified == ["not-the-password-1", "not-the-password-2"]
    reasons = [e.reason for e in _events(database, "login_failed")]
    assert "wrong password" in reasons[0] and "unknown username" in reasons[1]


def test_a_disabled_user_with_the_right_password_answers_like_a_wrong_one(
    client: Any, database: Any, cast: Cast, run_cli: Any
) -> None:
    assert run_cli("user", "disable", "officer-a").exit_code == 0
    response = _attempt(client, "officer-a", auth.PASSWORD)
    assert response.status_code == 401
    assert "user disabled" in _events(database, "login_failed")[-1].reason


# ---------------------------------------------------------------- lockout
def test_five_failures_lock_the_username_for_fifteen_minutes(
    client: Any, database: Any, cast: Cast, clock: FakeClock
) -> None:
    for _ in range(4):
        assert _attempt(client, "officer-a", "wrong-password-123").status_code == 401
    locked = _attempt(client, "officer-a", "wrong-password-123")
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(15 * 60)
    assert "09:15" in locked.text  # the clock reads 09:00 UTC
    assert _user(database, "officer-a").locked_until is not None

    clock.advance(minutes=14)
    refused = _attempt(client, "officer-a", auth.PASSWORD)  # the right password, but locked
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert "session" not in client.cookies

    clock.advance(minutes=1, seconds=1)
    assert _attempt(client, "officer-a", auth.PASSWORD).status_code == 303
    assert _user(database, "officer-a").failed_logins == 0
    actions = [e.action for e in _events(database)]
    assert actions.count("login_failed") == 5
    assert actions.count("locked") == 1 and actions.count("login_refused") == 1


def test_the_lock_message_speaks_the_users_language(client: Any, cast: Cast, clock: Any) -> None:
    for _ in range(5):
        response = _attempt(client, "officer-a", "wrong-password-123")
    assert "登录失败次数过多，请在 15 分钟后" in response.text
    client.cookies.set("shelfbridge_lang", "en")
    response = _attempt(client, "officer-a", auth.PASSWORD)
    assert "Try again in 15 minute(s), after 09:15 UTC." in response.text


def test_an_unknown_username_locks_the_same_way(client: Any, cast: Cast, clock: Any) -> None:
    answers = [_attempt(client, "nobody-at-all", "wrong-password-123") for _ in range(6)]
    known = [_attempt(client, "officer-a", "wrong-password-123") for _ in range(6)]
    assert [a.status_code for a in answers] == [a.status_code for a in known]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]


def test_one_address_is_blocked_after_twenty_failures_whatever_the_usernames(
    client: Any, database: Any, cast: Cast, clock: FakeClock
) -> None:
    for n in range(20):
        _attempt(client, f"guess-{n}", "wrong-password-123")
    blocked = _attempt(client, "officer-a", auth.PASSWORD)
    assert blocked.status_code == 429
    assert _events(database, "rate_limited")
    clock.advance(minutes=10, seconds=1)
    assert _attempt(client, "officer-a", auth.PASSWORD).status_code == 303


# ---------------------------------------------------------------- sign out and timeouts
def test_signing_out_ends_the_session_for_good(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")
    secret = client.cookies.get("shelfbridge_session")
    response = client.post("/logout", data=auth.with_csrf(client), follow_redirects=False)
    assert response.status_code == 303
    assert _clears_the_session_cookie(response)
    assert _sessions(database)[0].ended_at is not None
    client.cookies.set("shelfbridge_session", secret)  # replaying the old cookie
    assert "officer-a" not in client.get("/").text
    assert client.get("/account", follow_redirects=False).status_code in (303, 401)


def test_signing_out_needs_the_csrf_token(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")
    assert client.post("/logout").status_code == 403
    assert _sessions(database)[0].ended_at is None


def test_a_session_ends_after_thirty_idle_minutes(
    client: Any, database: Any, cast: Cast, clock: FakeClock
) -> None:
    auth.sign_in(client, "officer-a")
    clock.advance(minutes=29)
    assert client.get("/account").status_code == 200  # activity keeps it alive
    clock.advance(minutes=29)
    assert client.get("/account").status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = client.get("/account", follow_redirects=False)
    assert response.status_code in (303, 401)
    assert _clears_the_session_cookie(response)
    assert _sessions(database)[0].ended_at is not None


def test_a_session_ends_twelve_hours_after_sign_in_even_when_active(
    client: Any, cast: Cast, clock: FakeClock
) -> None:
    auth.sign_in(client, "officer-a")
    for _ in range(11 * 3):  # a request every 20 minutes for 11 hours
        clock.advance(minutes=20)
        assert client.get("/account").status_code == 200
    clock.advance(minutes=60, seconds=1)
    assert client.get("/account", follow_redirects=False).status_code in (303, 401)


def test_last_seen_is_written_at_most_once_a_minute(
    client: Any, database: Any, cast: Cast, clock: FakeClock
) -> None:
    auth.sign_in(client, "officer-a")
    first = _sessions(database)[0].last_seen_at
    clock.advance(seconds=30)
    client.get("/")
    assert _sessions(database)[0].last_seen_at == first
    clock.advance(seconds=31)
    client.get("/")
    assert _sessions(database)[0].last_seen_at == clock.now


def test_signing_in_again_ends_the_previous_session(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")
    auth.sign_in(client, "admin-a")
    first, second = _sessions(database)
    assert first.ended_at is not None and second.ended_at is None

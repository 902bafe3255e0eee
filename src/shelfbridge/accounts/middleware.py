"""Resolves the actor of every request, in one place (a plain ASGI middleware).

- ``Authorization: Bearer sb_…`` on any path: the token's user. An unknown, expired or
  revoked token, or a disabled user's, is answered 401 at once (problem+json under ``/api/``).
- Otherwise, on pages (not ``/api/``): the ``shelfbridge_session`` cookie's user, if the
  session is live and within its inactivity and absolute timeouts; a session that is no longer
  live is ended, its cookie cleared, and the request goes on as anonymous. The JSON API does
  not read the session cookie: it is reached with tokens only, so it needs no CSRF token.
- Anonymous page visitors get the CSRF cookie (see :mod:`shelfbridge.accounts.csrf`).

The actor is put in :data:`shelfbridge.accounts.actor.current_actor`, its label in the audit
actor (``user:<username>``), and both it and the credential in ``request.state``:
``actor``, ``auth_via`` (``session``, ``token`` or None), ``credential_id``,
``user_display_name`` and ``csrf_token``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shelfbridge.accounts import csrf, security
from shelfbridge.accounts.actor import ANONYMOUS
from shelfbridge.accounts.actor import current_actor as request_actor
from shelfbridge.accounts.authn import (
    Authenticated,
    Refused,
    known_token,
    resolve_session,
    resolve_token,
)
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.accounts.errors import InvalidToken
from shelfbridge.accounts.sessions import SESSION_COOKIE
from shelfbridge.core.audit import current_actor as audit_actor
from shelfbridge.core.database import Database

SKIPPED_PREFIXES = ("/static/",)


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None = None, http_only: bool = True
) -> str:
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def cookie_secure(runtime: AccountsRuntime, scope: Scope) -> bool:
    configured = runtime.policy.cookie_secure
    return configured if configured is not None else scope.get("scheme") == "https"


class AccountsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(SKIPPED_PREFIXES):
            await self.app(scope, receive, send)
            return
        application: Any = scope["app"]
        runtime: AccountsRuntime = application.state.accounts
        database: Database = application.state.database
        headers = Headers(scope=scope)
        is_api = path.startswith("/api/")
        state: dict[str, Any] = scope.setdefault("state", {})
        secure = cookie_secure(runtime, scope)
        extra_cookies: list[str] = []

        found: Authenticated | None = None
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = credential.strip()
            # From memory on the event loop when it can tell (authn.known_token), else in a
            # thread: a hop through the thread pool costs more than the rest of the lookup.
            outcome = known_token(database, token, runtime) or await run_in_threadpool(
                resolve_token, database, token, runtime
            )
            if isinstance(outcome, Refused):
                security.note(
                    "denied",
                    f"bearer token refused: {outcome.reason}",
                    target_kind="user" if outcome.user_id else None,
                    target_id=outcome.user_id,
                )
                state.update(actor=ANONYMOUS, auth_via=None, csrf_token="")
                await self._refuse(scope, receive, send, InvalidToken())
                return
            found = outcome
        elif not is_api:
            cookies = cookie_parser(headers.get("cookie", ""))
            secret = cookies.get(SESSION_COOKIE)
            if secret:
                outcome = await run_in_threadpool(resolve_session, database, secret, runtime)
                if isinstance(outcome, Refused):
                    extra_cookies.append(
                        cookie_header(SESSION_COOKIE, "", secure=secure, max_age=0)
                    )
                else:
                    found = outcome
            if found is None:
                nonce = cookies.get(csrf.CSRF_COOKIE)
                if not csrf.valid_nonce(nonce):
                    nonce = csrf.new_nonce()
                    extra_cookies.append(cookie_header(csrf.CSRF_COOKIE, nonce, secure=secure))
                state["csrf_token"] = csrf.anonymous_token(runtime.policy.secret_key, str(nonce))

        actor = found.actor if found else ANONYMOUS
        state["actor"] = actor
        state["auth_via"] = found.via if found else None
        state["credential_id"] = found.credential_id if found else None
        state["user_display_name"] = found.display_name if found else None
        if found is not None:
            state["csrf_token"] = found.csrf_token or ""
        state.setdefault("csrf_token", "")

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and extra_cookies:
                response_headers = MutableHeaders(scope=message)
                for value in extra_cookies:
                    response_headers.append("Set-Cookie", value)
            await send(message)

        actor_token = request_actor.set(actor)
        audit_token = audit_actor.set(actor.label)
        try:
            await self.app(scope, receive, send_with_cookies)
        finally:
            request_actor.reset(actor_token)
            audit_actor.reset(audit_token)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, error: InvalidToken
    ) -> None:
        from shelfbridge.web.errors import render_error

        await render_error(Request(scope, receive), error)(scope, receive, send)

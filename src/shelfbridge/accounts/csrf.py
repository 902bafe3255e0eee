"""Cross-site request forgery protection for every form and htmx request of the pages.

A signed-in browser's token is its session's ``csrf_token``. An anonymous visitor gets a random
nonce in the ``shelfbridge_csrf`` cookie and, in forms, the HMAC of that nonce under the secret
key (a signed double-submit token: a cookie planted by another site cannot be matched without
the key). Forms carry the token in a hidden ``csrf_token`` field (``csrf_field()`` in
templates); htmx sends it in the ``X-CSRF-Token`` header, set once on ``<body>``.

:func:`csrf_protect` is installed on every page router: a POST, PUT, PATCH or DELETE without the
right token is refused with 403 before the route runs, and a security event is written.
Requests authenticated with a bearer token are exempt: browsers never send one on their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from fastapi import Request
from markupsafe import Markup, escape

from shelfbridge.accounts import security
from shelfbridge.accounts.errors import CsrfFailed

CSRF_COOKIE = "shelfbridge_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NONCE = re.compile(r"^[A-Za-z0-9_-]{32}$")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def valid_nonce(value: str | None) -> bool:
    return value is not None and NONCE.fullmatch(value) is not None


def anonymous_token(secret_key: str, nonce: str) -> str:
    mac = hmac.new(secret_key.encode("utf-8"), b"csrf:" + nonce.encode("ascii"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode("ascii").rstrip("=")


def expected_token(request: Request) -> str:
    """The token the forms of this request carry (empty for bearer-token requests)."""
    return str(request.scope.get("state", {}).get("csrf_token") or "")


def csrf_field(request: Request) -> Markup:
    token = escape(expected_token(request))
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">')


async def _supplied(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        # Parsed once and kept on the request: the route reads the same form afterwards.
        value = (await request.form()).get(CSRF_FIELD)
        if isinstance(value, str):
            return value
    return ""


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe page request that lacks this visitor's token (a route dependency)."""
    if request.method not in UNSAFE_METHODS:
        return
    state = request.scope.get("state", {})
    if state.get("auth_via") == "token":
        return
    expected = expected_token(request)
    supplied = await _supplied(request)
    if expected and supplied and hmac.compare_digest(supplied.encode(), expected.encode()):
        return
    security.note("denied", "CSRF token missing" if not supplied else "CSRF token wrong")
    raise CsrfFailed()

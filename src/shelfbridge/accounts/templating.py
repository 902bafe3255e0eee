"""Template globals of accounts: the CSRF token and field, who is signed in, and whether they
are a platform admin (the navigation offers only what the caller may open)."""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from markupsafe import Markup

from shelfbridge.accounts import csrf
from shelfbridge.accounts.actor import current_actor


def _request(context: Any) -> Any:
    return context.get("request")


@pass_context
def csrf_token(context: Any) -> str:
    """The CSRF token of this visitor (for ``hx-headers`` and scripts)."""
    request = _request(context)
    return csrf.expected_token(request) if request is not None else ""


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden ``csrf_token`` field every form carries."""
    request = _request(context)
    return csrf.csrf_field(request) if request is not None else Markup("")


@pass_context
def signed_in_user(context: Any) -> str | None:
    """The display name of the signed-in user, or None for anonymous visitors."""
    request = _request(context)
    if request is None or request.scope.get("state", {}).get("auth_via") is None:
        return None
    name = request.scope["state"].get("user_display_name")
    return str(name) if name else None


def platform_admin() -> bool:
    """Whether the caller is a platform admin (the pages' routes run as the request's actor)."""
    return current_actor.get().is_unrestricted


GLOBALS: dict[str, Any] = {
    "csrf_token": csrf_token,
    "csrf_field": csrf_field,
    "signed_in_user": signed_in_user,
    "platform_admin": platform_admin,
}

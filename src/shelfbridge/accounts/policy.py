"""One policy layer: every route names who may call it, and a route with no policy is refused.

Route policies are data (below), keyed by route name. What a caller may do with a particular
record (write, see money fields) is decided by the services through
:mod:`shelfbridge.accounts.visibility`; which rows a caller sees, by the repositories.
"""

from __future__ import annotations

from fastapi import Request

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.core.errors import NotAuthenticated, PermissionDenied

PUBLIC = "public"  # anyone, signed in or not; rows are still filtered by visibility
SIGNED_IN = "signed_in"  # any signed-in user; the service checks the record
PLATFORM_ADMIN = "platform_admin"

POLICIES = (PUBLIC, SIGNED_IN, PLATFORM_ADMIN)

_KINDS = ("results", "demands", "organizations", "people")
_SINGULAR = {
    "results": "result",
    "demands": "demand",
    "organizations": "organization",
    "people": "person",
}

ROUTE_POLICIES: dict[str, str] = {
    # served by the framework
    "openapi": PUBLIC,
    "swagger_ui_html": PUBLIC,
    "swagger_ui_redirect": PUBLIC,
    "static": PUBLIC,
    # pages
    "home": PUBLIC,
    "page_org_options": PUBLIC,
    "page_import": PLATFORM_ADMIN,
    "page_import_file": PLATFORM_ADMIN,
    "page_rewards_simulate": PUBLIC,
}
for _kind in _KINDS:
    _one = _SINGULAR[_kind]
    ROUTE_POLICIES.update(
        {
            f"list_{_kind}": PUBLIC,
            f"get_{_one}": PUBLIC,
            f"create_{_one}": SIGNED_IN,
            f"update_{_one}": SIGNED_IN,
            f"delete_{_one}": SIGNED_IN,
            f"page_list_{_kind}": PUBLIC,
            f"page_{_kind}": PUBLIC,
            f"page_new_{_kind}": SIGNED_IN,
            f"page_create_{_kind}": SIGNED_IN,
            f"page_edit_{_kind}": SIGNED_IN,
            f"page_update_{_kind}": SIGNED_IN,
            f"page_confirm_delete_{_kind}": SIGNED_IN,
            f"page_delete_{_kind}": SIGNED_IN,
        }
    )

# Sharing grants on a record's page: the service checks that the caller shares for the owner.
for _kind in ("results", "demands"):
    ROUTE_POLICIES[f"page_share_{_kind}"] = SIGNED_IN
    ROUTE_POLICIES[f"page_unshare_{_kind}"] = SIGNED_IN


def register(name: str, policy: str) -> None:
    """How another domain declares the policy of a route it adds."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}")
    ROUTE_POLICIES[name] = policy


def allows(policy: str, actor: Actor) -> bool:
    if policy == PUBLIC:
        return True
    if policy == SIGNED_IN:
        return actor.kind in ("user", "system")
    if policy == PLATFORM_ADMIN:
        return actor.is_unrestricted
    return False


async def enforce_route_policy(request: Request) -> None:
    """Installed on every route by create_app; refuses what the route's policy does not allow."""
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    actor = current_actor.get()
    policy = ROUTE_POLICIES.get(name or "")
    if policy is None:
        security.note("denied", f"route {name!r} has no policy")
        raise PermissionDenied()
    if allows(policy, actor):
        return
    security.note("denied", f"route {name!r} needs {policy}")
    if actor.kind == "anonymous":
        raise NotAuthenticated()
    raise PermissionDenied()

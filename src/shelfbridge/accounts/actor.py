"""Who is asking: the actor of a request or command, resolved once and passed down.

Services and repositories take an :class:`Actor` and ask it; nothing reads the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from shelfbridge.accounts.roles import PERMISSIONS


@dataclass(frozen=True)
class Actor:
    """An authenticated user (with their live memberships), an anonymous visitor, or the
    system itself (CLI operators, imports, migrations)."""

    kind: str  # user | anonymous | system
    user_id: int | None = None
    username: str = "anonymous"
    is_platform_admin: bool = False
    person_id: int | None = None
    # organisation id -> roles held there (live memberships only)
    roles: dict[int, frozenset[str]] = field(default_factory=dict)
    # What orgs_with() answered, per permission: an actor is kept for as long as its
    # credential's rows (accounts.authn) and asked the same on every request and row.
    _granted: dict[str, frozenset[int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def label(self) -> str:
        """How the actor appears in audit and security events."""
        if self.kind == "user":
            return f"user:{self.username}"
        return self.username

    @property
    def is_unrestricted(self) -> bool:
        return self.kind == "system" or self.is_platform_admin

    def orgs_with(self, permission: str) -> frozenset[int]:
        """The organisations in which this actor holds the permission."""
        found = self._granted.get(permission)
        if found is None:
            allowed = PERMISSIONS[permission]
            found = frozenset(org for org, roles in self.roles.items() if roles & allowed)
            self._granted[permission] = found
        return found

    def can(self, permission: str, organization_id: int | None) -> bool:
        if self.is_unrestricted:
            return True
        return organization_id is not None and organization_id in self.orgs_with(permission)

    @property
    def organization_ids(self) -> frozenset[int]:
        return frozenset(self.roles)


ANONYMOUS = Actor(kind="anonymous")
SYSTEM = Actor(kind="system", username="system")


def user_actor(
    user_id: int,
    username: str,
    is_platform_admin: bool,
    person_id: int | None,
    memberships: Iterable[tuple[int, str]],
) -> Actor:
    roles: dict[int, set[str]] = {}
    for organization_id, role in memberships:
        roles.setdefault(organization_id, set()).add(role)
    return Actor(
        kind="user",
        user_id=user_id,
        username=username,
        is_platform_admin=is_platform_admin,
        person_id=person_id,
        roles={org: frozenset(r) for org, r in roles.items()},
    )


current_actor: ContextVar[Actor] = ContextVar("current_request_actor", default=ANONYMOUS)

"""JSON API of a unit's own reward policies under ``/api/v1/ip``: the list of the caller's
units' policies and one policy with the floors beside it. Creating one stays
``POST /api/v1/ip/policies`` in :mod:`shelfbridge.ip.api`.

Policies are ledger data, so only the owning unit's officers and admins (and platform admins)
read them: a caller who manages no ledger is refused (403) before anything is read, like the
deadlines and fee payments; another unit's policy is a 404, exactly like a missing one."""
# No "from __future__ import annotations": FastAPI reads the annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from shelfbridge.accounts import policy
from shelfbridge.ip import service, unit_policies
from shelfbridge.ip.api import Day
from shelfbridge.web.deps import MAX_ID, PROBLEM_RESPONSES, ReadSession, RecordId

ROUTES = {
    "list_ip_policies": policy.SIGNED_IN,
    "get_ip_policy": policy.SIGNED_IN,
}


# a route dependency: refused before the body is read (ip.service.refuse_non_managers)
MANAGERS_ONLY = Depends(service.refuse_non_managers)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    # Included by ip.api's router, whose prefix (/ip) and tag it takes.
    router = APIRouter(responses=PROBLEM_RESPONSES, dependencies=[MANAGERS_ONLY])

    @router.get("/policies", name="list_ip_policies")
    def list_policies(
        session: ReadSession,
        owner_org_id: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="Only this unit's policies")
        ] = None,
        in_force_on: Annotated[
            Day | None,
            Query(description="Only the policy in force on this day, per unit"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        """The reward policies of the units the caller manages (all for platform admins),
        latest first, each with the standards it falls below that do not bind the unit."""
        found, total = unit_policies.page(
            session, owner_org_id=owner_org_id, in_force_on=in_force_on, limit=limit, offset=offset
        )
        items = [unit_policies.view(p) for p in found]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @router.get("/policies/{policy_id}", name="get_ip_policy")
    def get_policy(policy_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """One policy, with every floor of its jurisdiction and unit type on its first day:
        the percentage, the force (binding, default, permitted standard), the article and
        whether the rule is unconfirmed."""
        return unit_policies.view(unit_policies.get(session, policy_id), detail=True)

    return router


__all__ = ["build_router"]

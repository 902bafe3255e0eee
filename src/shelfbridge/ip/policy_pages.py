"""HTML page of a unit's own reward policies (``/ip/policies``): the unit's policies, the one
in force on a chosen day, the floors that bind the unit beside them, and the form that adds a
policy.

Only the owner's officers and admins (and platform admins) see it, as for the API. The form is
POSTed with the visitor's CSRF token (the page routers' dependency) and goes through
``service.set_policy``, so a policy below a binding floor is refused with the message citing
the article, shown on its field, and nothing is saved (422)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts import policy
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import (
    Conflict,
    FieldProblem,
    RuleViolation,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_, translate
from shelfbridge.ip import repository, rules, service, unit_policies
from shelfbridge.ip.ledger_pages import FormData
from shelfbridge.ip.models import IpAsset, RewardPolicy
from shelfbridge.registry.models import Organization
from shelfbridge.registry.pages.common import render
from shelfbridge.web.deps import MAX_ID, ReadSession, WriteSession

ROUTES = {
    "page_ip_policies": policy.SIGNED_IN,
    "page_ip_policy_create": policy.SIGNED_IN,
}
FIELDS = (
    "owner_org_id",
    "title",
    "effective_from",
    "jurisdiction",
    "unit_type",
    "net_income_percent",
    "equity_percent",
    "main_contributors_percent",
)


def _ident(text: str | None) -> int | None:
    value = (text or "").strip()
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None


def _units(session: Session, named: int | None) -> list[tuple[int, str]]:
    """The units whose policies the caller may manage. A platform admin manages every unit,
    so the choice offers those in the ledger (with assets or policies) and any unit named."""
    actor = current_actor.get()
    statement = select(Organization.id, Organization.name).order_by(Organization.name)
    if actor.is_unrestricted:
        owners = select(IpAsset.owner_org_id).union(select(RewardPolicy.owner_org_id))
        in_ledger = Organization.id.in_(owners)
        statement = statement.where(
            in_ledger | (Organization.id == named) if named is not None else in_ledger
        )
    else:
        statement = statement.where(Organization.id.in_(repository.managed_orgs(actor)))
    return [(int(i), str(n)) for i, n in session.execute(statement)]


def _page(
    request: Request,
    session: Session,
    org: int | None,
    on_text: str,
    values: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
) -> HTMLResponse:
    units = _units(session, org)
    known = {ident for ident, _name in units}
    chosen = org if org in known else (units[0][0] if units else None)
    messages: list[str] = []
    try:
        on = date.fromisoformat(on_text) if on_text else date.today()
    except ValueError:
        message = N_("“{value}” is not a day such as 2024-05-01.")
        messages.append(FieldProblem("on", message, {"value": on_text}).render(translate))
        on = date.today()
    context: dict[str, Any] = {
        "units": units,
        "org": chosen,
        "on": on.isoformat(),
        "policies": [],
        "current": None,
        "floors": [],
        "case": None,
        "unit_types": [(code, translate(label)) for code, label in rules.UNIT_TYPES.items()],
        "values": values
        or {"effective_from": date.today().isoformat(), "owner_org_id": str(chosen or "")},
        "errors": {},
        "messages": messages,
    }
    for problem in problems or []:
        context["errors"].setdefault(problem.field, problem.render(translate))
        context["messages"].append(problem.render(translate))
    if chosen is not None:
        found, _total = unit_policies.page(session, owner_org_id=chosen, limit=200)
        current = unit_policies.in_force(found, on)
        context["policies"] = [{**unit_policies.view(p), "in_force": p is current} for p in found]
        context["current"] = unit_policies.view(current) if current is not None else None
        owner = session.get(Organization, chosen)
        if owner is not None:
            jurisdiction, unit_type = unit_policies.unit_case(owner, current)
            context["case"] = {
                "jurisdiction_name": rules.jurisdiction_name(jurisdiction),
                "unit_type_label": translate(rules.UNIT_TYPES[unit_type]) if unit_type else None,
            }
            if unit_type is not None:
                context["floors"] = unit_policies.floors(jurisdiction, unit_type, on)
    status = 422 if context["messages"] else 200
    return render(request, "ip/policies.html", context, status_code=status)


def _problems(error: ValidationFailed | RuleViolation | Conflict) -> list[FieldProblem]:
    if isinstance(error, Conflict):
        # The only conflict of a new policy: the unit already has one from that day.
        return [FieldProblem("effective_from", error.message, error.params)]
    # The rules name a floor by its measure; the form by the field that sets it.
    return [
        FieldProblem(service.POLICY_FIELDS.get(p.field, p.field), p.message, p.params)
        for p in error.problems
    ]


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter()

    @router.get("/ip/policies", response_class=HTMLResponse, name="page_ip_policies")
    def policies_page(
        request: Request, session: ReadSession, org: str = "", on: str = ""
    ) -> HTMLResponse:
        """The chosen unit's policies, the one in force on a day (default today) and the
        floors that bind the unit that day."""
        service.refuse_non_managers()
        return _page(request, session, _ident(org), on.strip()[:20])

    @router.post("/ip/policies", response_model=None, name="page_ip_policy_create")
    def create_policy(request: Request, session: WriteSession, data: FormData) -> Response:
        service.refuse_non_managers()
        values = {name: data.get(name, "") for name in FIELDS}
        try:
            created = service.set_policy(session, values)
        except (ValidationFailed, RuleViolation, Conflict) as refused:
            session.rollback()
            org = _ident(values["owner_org_id"])
            return _page(request, session, org, "", values, _problems(refused))
        return RedirectResponse(f"/ip/policies?org={created.owner_org_id}", status_code=303)

    return router


__all__ = ["build_router"]

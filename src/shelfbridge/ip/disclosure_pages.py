"""HTML pages of invention disclosures: the list, a new or changed draft, the disclosure with
its workflow's buttons, and the office's assessment and decision forms.

Forms are POSTed with the visitor's CSRF token (the page routers' dependency); a rejected form
is shown again with each problem beside its field (422), any other refusal is the error page of
its status (404 for a disclosure the visitor may not see, 403, 409 for a forbidden step)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts import policy
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import FieldProblem, PermissionDenied, ValidationFailed
from shelfbridge.core.i18n import translate
from shelfbridge.ip import disclosure_decisions as decisions
from shelfbridge.ip import disclosure_service as disclosures
from shelfbridge.ip.disclosure_inputs import format_lines
from shelfbridge.ip.disclosure_models import (
    CONFIDENTIALITY,
    DECISIONS,
    DISCLOSURE_STATUSES,
    FILING_KINDS,
    RATINGS,
    RECOMMENDATIONS,
    Disclosure,
)
from shelfbridge.ip.disclosure_views import disclosure as view
from shelfbridge.ip.ledger_pages import FormData
from shelfbridge.ip.models import ASSET_KINDS
from shelfbridge.registry.models import Organization, Result
from shelfbridge.registry.pages.common import render
from shelfbridge.web.deps import ReadSession, WriteSession

ROUTES = {
    "page_ip_disclosures": policy.SIGNED_IN,
    "page_ip_disclosure_new": policy.SIGNED_IN,
    "page_ip_disclosure_create": policy.SIGNED_IN,
    "page_ip_disclosure": policy.SIGNED_IN,
    "page_ip_disclosure_edit": policy.SIGNED_IN,
    "page_ip_disclosure_change": policy.SIGNED_IN,
    "page_ip_disclosure_transition": policy.SIGNED_IN,
    "page_ip_disclosure_assessment": policy.SIGNED_IN,
    "page_ip_disclosure_assess": policy.SIGNED_IN,
    "page_ip_disclosure_decision": policy.SIGNED_IN,
    "page_ip_disclosure_decide": policy.SIGNED_IN,
}
# the create form also names the unit; an edit keeps it (FORM_FIELDS[1:])
FORM_FIELDS = ("owner_org_id", *disclosures.DRAFT_FIELDS)
ASSESSMENT_FIELDS = (
    "novelty",
    "inventive_step",
    "market_potential",
    "trl",
    "recommendation",
    "notes",
    "assessed_on",
)
DECISION_FIELDS = ("decision", "asset_kind", "application_number", "filed_on", "notes")
PAGE_SIZE = 50


def _choices(vocabulary: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, translate(label)) for code, label in vocabulary.items()]


def _errors(problems: list[FieldProblem]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(problem.field.split("[")[0], problem.render(translate))
    return found


def _units(session: Session) -> list[tuple[int, str]]:
    ids = sorted(disclosures.disclosing_orgs(current_actor.get()))
    return [(i, org.name) for i in ids if (org := session.get(Organization, i)) is not None]


def _require_discloser() -> None:
    actor = current_actor.get()
    if not actor.is_unrestricted and not disclosures.disclosing_orgs(actor):
        raise PermissionDenied(disclosures.NOT_DISCLOSER)


def _form_values(session: Session, data: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """The form's text, with a related result given by its external id turned into its id."""
    values: dict[str, Any] = {name: data.get(name, "") for name in names}
    reference = str(values.get("result_id") or "").strip()
    if reference and not reference.isdigit():
        found = session.scalars(select(Result.id).where(Result.external_id == reference)).first()
        values["result_id"] = str(found) if found is not None else reference
    return values


def _form(
    request: Request,
    session: Session,
    values: dict[str, Any],
    problems: list[FieldProblem],
    record: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "record": record,
        "values": values,
        "errors": _errors(problems),
        "messages": [p.render(translate) for p in problems],
        "units": _units(session),
        "confidentiality": _choices(CONFIDENTIALITY),
    }
    return render(request, "ip/disclosure_form.html", context, status_code=status_code)


def _office_form(
    request: Request,
    template: str,
    record: Disclosure,
    values: dict[str, Any],
    problems: list[FieldProblem],
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "d": view(record),
        "values": values,
        "errors": _errors(problems),
        "messages": [p.render(translate) for p in problems],
        "ratings": _choices(RATINGS),
        "recommendations": _choices(RECOMMENDATIONS),
        "decisions": _choices(DECISIONS),
        "kinds": [(k, translate(ASSET_KINDS[k])) for k in FILING_KINDS],
        "trls": [(str(n), str(n)) for n in range(1, 10)],
        "today": date.today().isoformat(),
    }
    return render(request, template, context, status_code=status_code)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter()

    @router.get("/ip/disclosures", response_class=HTMLResponse, name="page_ip_disclosures")
    def listing(request: Request, session: ReadSession, status: str = "") -> HTMLResponse:
        chosen = status if status in DISCLOSURE_STATUSES else None
        found, total = disclosures.page(session, status=chosen, limit=PAGE_SIZE)
        actor = current_actor.get()
        context = {
            "items": [view(d, brief=True) for d in found],
            "total": total,
            "status": chosen or "",
            "statuses": _choices(DISCLOSURE_STATUSES),
            "can_create": actor.is_unrestricted or bool(disclosures.disclosing_orgs(actor)),
        }
        return render(request, "ip/disclosures.html", context)

    @router.get("/ip/disclosures/new", response_class=HTMLResponse, name="page_ip_disclosure_new")
    def new(request: Request, session: ReadSession) -> HTMLResponse:
        _require_discloser()
        return _form(request, session, {"confidentiality": "internal"}, [])

    @router.post("/ip/disclosures/new", response_model=None, name="page_ip_disclosure_create")
    def create(request: Request, session: WriteSession, data: FormData) -> Response:
        _require_discloser()
        values = _form_values(session, data, FORM_FIELDS)
        try:
            created = disclosures.create(session, values)
        except ValidationFailed as failed:
            session.rollback()
            return _form(request, session, values, failed.problems, status_code=422)
        return RedirectResponse(f"/ip/disclosures/{created.id}", status_code=303)

    @router.get(
        "/ip/disclosures/{disclosure_id:int}",
        response_class=HTMLResponse,
        name="page_ip_disclosure",
    )
    def detail(request: Request, disclosure_id: int, session: ReadSession) -> HTMLResponse:
        record = disclosures.find(session, disclosure_id)
        context = {"d": view(record), "today": date.today().isoformat()}
        return render(request, "ip/disclosure.html", context)

    @router.get(
        "/ip/disclosures/{disclosure_id:int}/edit",
        response_class=HTMLResponse,
        name="page_ip_disclosure_edit",
    )
    def edit(request: Request, disclosure_id: int, session: ReadSession) -> HTMLResponse:
        record = disclosures.find(session, disclosure_id)
        if not disclosures.is_author(record):
            raise PermissionDenied(disclosures.NOT_AUTHOR)
        found = view(record)
        values = {name: found.get(name) or "" for name in FORM_FIELDS}
        values["contributors"] = format_lines(record)
        return _form(request, session, values, [], record=found)

    @router.post(
        "/ip/disclosures/{disclosure_id:int}/edit",
        response_model=None,
        name="page_ip_disclosure_change",
    )
    def change(request: Request, disclosure_id: int, session: WriteSession, data: FormData) -> Any:
        values = _form_values(session, data, FORM_FIELDS[1:])
        try:
            disclosures.update(session, disclosure_id, values)
        except ValidationFailed as failed:
            session.rollback()
            found = view(disclosures.find(session, disclosure_id))
            return _form(request, session, values, failed.problems, found, 422)
        return RedirectResponse(f"/ip/disclosures/{disclosure_id}", status_code=303)

    @router.post(
        "/ip/disclosures/{disclosure_id:int}/transition",
        response_model=None,
        name="page_ip_disclosure_transition",
    )
    def transition(disclosure_id: int, session: WriteSession, data: FormData) -> Any:
        disclosures.transition(session, disclosure_id, data.get("status", "").strip())
        return RedirectResponse(f"/ip/disclosures/{disclosure_id}", status_code=303)

    @router.get(
        "/ip/disclosures/{disclosure_id:int}/assessment",
        response_class=HTMLResponse,
        name="page_ip_disclosure_assessment",
    )
    def assessment(request: Request, disclosure_id: int, session: ReadSession) -> HTMLResponse:
        record = disclosures.find(session, disclosure_id)
        disclosures.check_step(record, "assessed")
        values = {"assessed_on": date.today().isoformat()}
        return _office_form(request, "ip/disclosure_assess.html", record, values, [])

    @router.post(
        "/ip/disclosures/{disclosure_id:int}/assessment",
        response_model=None,
        name="page_ip_disclosure_assess",
    )
    def assess(request: Request, disclosure_id: int, session: WriteSession, data: FormData) -> Any:
        values = {name: data.get(name, "") for name in ASSESSMENT_FIELDS}
        try:
            decisions.assess(session, disclosure_id, values)
        except ValidationFailed as failed:
            session.rollback()
            record = disclosures.find(session, disclosure_id)
            template = "ip/disclosure_assess.html"
            return _office_form(request, template, record, values, failed.problems, 422)
        return RedirectResponse(f"/ip/disclosures/{disclosure_id}", status_code=303)

    @router.get(
        "/ip/disclosures/{disclosure_id:int}/decision",
        response_class=HTMLResponse,
        name="page_ip_disclosure_decision",
    )
    def decision(request: Request, disclosure_id: int, session: ReadSession) -> HTMLResponse:
        record = disclosures.find(session, disclosure_id)
        disclosures.check_step(record, "decided")
        values = {"decision": "", "asset_kind": _suggested_kind(record)}
        return _office_form(request, "ip/disclosure_decide.html", record, values, [])

    @router.post(
        "/ip/disclosures/{disclosure_id:int}/decision",
        response_model=None,
        name="page_ip_disclosure_decide",
    )
    def decide(request: Request, disclosure_id: int, session: WriteSession, data: FormData) -> Any:
        values = {name: data.get(name, "") for name in DECISION_FIELDS}
        if values["decision"] != "file":
            # The kind preselected from the recommendation means nothing for other decisions.
            values["asset_kind"] = ""
        try:
            decisions.decide(session, disclosure_id, values)
        except ValidationFailed as failed:
            session.rollback()
            record = disclosures.find(session, disclosure_id)
            template = "ip/disclosure_decide.html"
            return _office_form(request, template, record, values, failed.problems, 422)
        return RedirectResponse(f"/ip/disclosures/{disclosure_id}", status_code=303)

    return router


def _suggested_kind(record: Disclosure) -> str:
    """The kind the assessment recommended filing, to preselect it."""
    return record.recommendation if record.recommendation in FILING_KINDS else ""


__all__ = ["build_router"]

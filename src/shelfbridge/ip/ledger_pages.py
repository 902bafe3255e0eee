"""HTML pages of the IP ledger: assets (list, new, detail with the lifecycle's buttons), deals
(form, detail with signing, income and deductions), distributions (approve, pay) and the
contributor's own statement.

Forms are POSTed with the visitor's CSRF token (the page routers' dependency); a rejected form
is shown again with its problems (422), any other refusal is the error page of its status."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shelfbridge.accounts import policy
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import (
    BadRequest,
    FieldProblem,
    RuleViolation,
    ValidationFailed,
)
from shelfbridge.core.i18n import translate
from shelfbridge.ip import deadlines as due
from shelfbridge.ip import distribution as rewards
from shelfbridge.ip import (
    fees,
    ical,
    office_actions,
    report,
    repository,
    rules,
    service,
    statement_pdf,
    views,
)
from shelfbridge.ip.models import (
    ASSET_KINDS,
    CONTRACT_TYPES,
    DEAL_TYPES,
    FEE_REDUCTIONS,
    LICENCE_SCOPES,
    OFFICE_ACTION_DELIVERIES,
    OFFICE_ACTION_KINDS,
    PATENT_TYPE_OF,
    PAYMENT_MODES,
    PRICE_MODES,
)
from shelfbridge.registry.models import Organization
from shelfbridge.registry.pages.common import render
from shelfbridge.web.deps import ReadSession, WriteSession

ROUTES = {
    "page_ip_assets": policy.SIGNED_IN,
    "page_ip_asset_new": policy.SIGNED_IN,
    "page_ip_asset_create": policy.SIGNED_IN,
    "page_ip_asset": policy.SIGNED_IN,
    "page_ip_asset_transition": policy.SIGNED_IN,
    "page_ip_asset_fee_reduction": policy.SIGNED_IN,
    "page_ip_deal_new": policy.SIGNED_IN,
    "page_ip_deal_create": policy.SIGNED_IN,
    "page_ip_deal": policy.SIGNED_IN,
    "page_ip_deal_sign": policy.SIGNED_IN,
    "page_ip_income_create": policy.SIGNED_IN,
    "page_ip_distribute": policy.SIGNED_IN,
    "page_ip_distribution": policy.SIGNED_IN,
    "page_ip_approve": policy.SIGNED_IN,
    "page_ip_pay": policy.SIGNED_IN,
    "page_ip_statement": policy.SIGNED_IN,
    "page_ip_statement_pdf": policy.SIGNED_IN,
    "page_ip_person_statement_pdf": policy.SIGNED_IN,
    "page_ip_deadlines": policy.SIGNED_IN,
    "page_ip_deadlines_ics": policy.SIGNED_IN,
    "page_ip_office_action_create": policy.SIGNED_IN,
    "page_ip_office_action_respond": policy.SIGNED_IN,
    "page_ip_office_action_extend": policy.SIGNED_IN,
    "page_ip_report": policy.SIGNED_IN,
    "page_ip_report_xlsx": policy.SIGNED_IN,
}
ASSET_FIELDS = (
    "owner_org_id",
    "kind",
    "title",
    "application_number",
    "filed_on",
    "priority_on",
    "pct_application_number",
    "pct_filed_on",
    "status",
    "granted_on",
    "jurisdiction",
    "unit_type",
    "fee_reduction",
    "contributors",
)
DEAL_FIELDS = (
    "deal_type",
    "contract_type",
    "counterparty_name",
    "licence_scope",
    "term_start",
    "term_end",
    "territory",
    "field_of_use",
    "price",
    "equity_shares",
    "payment_mode",
    "price_mode",
    "posting_start",
    "posting_end",
)
DEDUCTION_KINDS = ("taxes", "maintenance", "direct-costs", "rd-costs-public", "rd-costs-other")


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


def _choices(vocabulary: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, translate(label)) for code, label in vocabulary.items()]


def _messages(error: ValidationFailed | RuleViolation) -> list[str]:
    return [problem.render(translate) for problem in error.problems]


def _errors(problems: list[FieldProblem]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(problem.field.split("[")[0], problem.render(translate))
    return found


def _managed_units(session: Session) -> list[tuple[int, str]]:
    actor = current_actor.get()
    ids = sorted(repository.managed_orgs(actor))
    return [(i, org.name) for i in ids if (org := session.get(Organization, i)) is not None]


def _yuan(value: Any) -> str:
    if value in (None, ""):
        return "—"
    return f"¥{Decimal(str(value)):,.2f}"


def _asset_form(
    request: Request,
    session: Session,
    values: dict[str, str],
    problems: list[FieldProblem],
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "values": values,
        "errors": _errors(problems),
        "messages": [p.render(translate) for p in problems],
        "units": _managed_units(session),
        "kinds": _choices(ASSET_KINDS),
        "unit_types": _choices(rules.UNIT_TYPES),
        "fee_reductions": _choices(FEE_REDUCTIONS),
    }
    return render(request, "ip/asset_form.html", context, status_code=status_code)


def _deal_form(
    request: Request,
    asset: dict[str, Any],
    values: dict[str, str],
    problems: list[FieldProblem],
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "asset": asset,
        "values": values,
        "errors": _errors(problems),
        "messages": [p.render(translate) for p in problems],
        "deal_types": _choices(DEAL_TYPES),
        "contract_types": _choices(CONTRACT_TYPES),
        "scopes": _choices(LICENCE_SCOPES),
        "payment_modes": _choices(PAYMENT_MODES),
        "price_modes": _choices(PRICE_MODES),
    }
    return render(request, "ip/deal_form.html", context, status_code=status_code)


def _deal_page(
    request: Request,
    session: Session,
    deal_id: int,
    values: dict[str, str] | None = None,
    messages: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    deal = service.get_deal(session, deal_id)
    income = repository.income_of_deal(session, deal_id)
    done = repository.distributions_of(session, [i.id for i in income])
    context = {
        "deal": views.deal(deal),
        "asset": views.asset(deal.asset, weights=True),
        "income": [
            {
                **views.income(i),
                "distribution": views.distribution(done[i.id]) if i.id in done else None,
            }
            for i in income
        ],
        "values": values or {},
        "messages": messages or [],
        "deduction_kinds": [(k, translate(rules.DEDUCTIONS[k])) for k in DEDUCTION_KINDS],
        "today": date.today().isoformat(),
        "yuan": _yuan,
    }
    return render(request, "ip/deal.html", context, status_code=status_code)


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(
            [FieldProblem("day", "“{value}” is not a day such as 2024-05-01.", {"value": text})]
        ) from None


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter()

    @router.get("/ip/assets", response_class=HTMLResponse, name="page_ip_assets")
    def assets(request: Request, session: ReadSession) -> HTMLResponse:
        found = repository.list_assets(session, limit=200)
        context = {
            "assets": [views.asset(a, weights=False) for a in found],
            "can_create": bool(repository.managed_orgs()) or current_actor.get().is_unrestricted,
        }
        return render(request, "ip/assets.html", context)

    @router.get("/ip/assets/new", response_class=HTMLResponse, name="page_ip_asset_new")
    def new_asset(request: Request, session: ReadSession) -> HTMLResponse:
        service.refuse_non_managers()
        return _asset_form(request, session, {}, [])

    @router.post("/ip/assets/new", response_model=None, name="page_ip_asset_create")
    def create_asset(request: Request, session: WriteSession, data: FormData) -> Response:
        service.refuse_non_managers()
        values = {name: data.get(name, "") for name in ASSET_FIELDS}
        try:
            asset = service.create_asset(session, values)
        except ValidationFailed as failed:
            session.rollback()
            return _asset_form(request, session, values, failed.problems, 422)
        return RedirectResponse(f"/ip/assets/{asset.id}", status_code=303)

    @router.get("/ip/assets/{asset_id:int}", response_class=HTMLResponse, name="page_ip_asset")
    def asset_page(request: Request, asset_id: int, session: ReadSession) -> HTMLResponse:
        record = service.get_asset(session, asset_id)
        manages = service.may_manage(record.owner_org_id)
        deals = repository.deals_of_asset(session, asset_id) if manages else []
        actions = office_actions.office_actions_of(session, asset_id) if manages else []
        payments = fees.payments_of(session, asset_id) if manages else []
        today = date.today()
        paid = {p.patent_year for p in payments}
        coming = (
            due.asset_deadlines(record, today, today + timedelta(days=366), actions, None, paid)
            if manages
            else []
        )
        context = {
            "asset": views.asset(record, weights=manages),
            "manages": manages,
            "deals": [views.deal(d) for d in deals],
            "deadlines": [due.as_dict(d) for d in coming],
            "office_actions": [views.office_action(a) for a in actions],
            "office_action_kinds": _choices(OFFICE_ACTION_KINDS),
            "office_action_deliveries": _choices(OFFICE_ACTION_DELIVERIES),
            "fee_payments": [fees.as_dict(p) for p in payments],
            "lapsed": [d.patent_year for d in coming if d.state == "lapsed"],
            "fee_reductions": _choices(FEE_REDUCTIONS) if record.kind in PATENT_TYPE_OF else [],
            "today": date.today().isoformat(),
            "yuan": _yuan,
        }
        return render(request, "ip/asset.html", context)

    @router.post(
        "/ip/assets/{asset_id:int}/transition",
        response_model=None,
        name="page_ip_asset_transition",
    )
    def transition(request: Request, asset_id: int, session: WriteSession, data: FormData) -> Any:
        on = _day(data.get("on")) if data.get("on") else None
        service.transition(session, asset_id, data.get("status", ""), on)
        return RedirectResponse(f"/ip/assets/{asset_id}", status_code=303)

    @router.post(
        "/ip/assets/{asset_id:int}/fee-reduction",
        response_model=None,
        name="page_ip_asset_fee_reduction",
    )
    def fee_reduction(asset_id: int, session: WriteSession, data: FormData) -> Any:
        service.set_fee_reduction(session, asset_id, {"fee_reduction": data.get("fee_reduction")})
        return RedirectResponse(f"/ip/assets/{asset_id}", status_code=303)

    @router.get(
        "/ip/assets/{asset_id:int}/deals/new",
        response_class=HTMLResponse,
        name="page_ip_deal_new",
    )
    def new_deal(request: Request, asset_id: int, session: ReadSession) -> HTMLResponse:
        record = service.get_asset(session, asset_id)
        service.require_manager(record.owner_org_id)
        return _deal_form(request, views.asset(record, weights=True), {}, [])

    @router.post(
        "/ip/assets/{asset_id:int}/deals/new",
        response_model=None,
        name="page_ip_deal_create",
    )
    def create_deal(request: Request, asset_id: int, session: WriteSession, data: FormData) -> Any:
        values = {name: data.get(name, "") for name in DEAL_FIELDS}
        try:
            deal = service.create_deal(session, asset_id, values)
        except ValidationFailed as failed:
            session.rollback()
            record = service.get_asset(session, asset_id)
            return _deal_form(
                request, views.asset(record, weights=True), values, failed.problems, 422
            )
        return RedirectResponse(f"/ip/deals/{deal.id}", status_code=303)

    @router.get("/ip/deals/{deal_id:int}", response_class=HTMLResponse, name="page_ip_deal")
    def deal_page(request: Request, deal_id: int, session: ReadSession) -> HTMLResponse:
        return _deal_page(request, session, deal_id)

    @router.post("/ip/deals/{deal_id:int}/sign", response_model=None, name="page_ip_deal_sign")
    def sign(request: Request, deal_id: int, session: WriteSession, data: FormData) -> Any:
        service.sign_deal(
            session, deal_id, _day(data.get("signed_on")), data.get("contract_number")
        )
        return RedirectResponse(f"/ip/deals/{deal_id}", status_code=303)

    @router.post(
        "/ip/deals/{deal_id:int}/income", response_model=None, name="page_ip_income_create"
    )
    def record_income(request: Request, deal_id: int, session: WriteSession, data: FormData) -> Any:
        raw: dict[str, Any] = {
            "received_on": data.get("received_on", ""),
            "amount": data.get("amount", ""),
            "shares": data.get("shares", ""),
            "note": data.get("note", ""),
            "deductions": [
                {"kind": kind, "amount": data.get(f"deduction_{kind}", "")}
                for kind in DEDUCTION_KINDS
                if data.get(f"deduction_{kind}", "").strip()
            ],
        }
        try:
            service.record_income(session, deal_id, raw)
        except ValidationFailed as failed:
            session.rollback()
            return _deal_page(request, session, deal_id, data, _messages(failed), 422)
        return RedirectResponse(f"/ip/deals/{deal_id}", status_code=303)

    @router.post(
        "/ip/income/{income_id:int}/distribute", response_model=None, name="page_ip_distribute"
    )
    def distribute(request: Request, income_id: int, session: WriteSession) -> Any:
        threshold = request.app.state.settings.reward_second_approval_above
        found = rewards.distribute(session, income_id, second_approval_above=threshold)
        return RedirectResponse(f"/ip/distributions/{found.id}", status_code=303)

    @router.get(
        "/ip/distributions/{distribution_id:int}",
        response_class=HTMLResponse,
        name="page_ip_distribution",
    )
    def distribution_page(
        request: Request, distribution_id: int, session: ReadSession
    ) -> HTMLResponse:
        found = rewards.get_distribution(session, distribution_id)
        income = service.get_income(session, found.income_record_id)
        context = {
            "d": views.distribution(found),
            "income": views.income(income),
            "deal_id": income.deal_id,
            "me": current_actor.get().label,
            "yuan": _yuan,
        }
        return render(request, "ip/distribution.html", context)

    @router.post(
        "/ip/distributions/{distribution_id:int}/approve",
        response_model=None,
        name="page_ip_approve",
    )
    def approve(request: Request, distribution_id: int, session: WriteSession) -> Any:
        rewards.approve(session, distribution_id)
        return RedirectResponse(f"/ip/distributions/{distribution_id}", status_code=303)

    @router.post(
        "/ip/distributions/{distribution_id:int}/pay", response_model=None, name="page_ip_pay"
    )
    def pay(request: Request, distribution_id: int, session: WriteSession) -> Any:
        rewards.mark_paid(session, distribution_id)
        return RedirectResponse(f"/ip/distributions/{distribution_id}", status_code=303)

    @router.get("/ip/statement", response_class=HTMLResponse, name="page_ip_statement")
    def statement(request: Request, session: ReadSession) -> HTMLResponse:
        found = views.statement(rewards.statement(session))
        return render(request, "ip/statement.html", {"s": found, "yuan": _yuan})

    @router.get("/ip/statement.pdf", response_class=Response, name="page_ip_statement_pdf")
    def statement_pdf(session: ReadSession) -> Response:
        return _pdf(views.statement(rewards.statement(session)))

    @router.get(
        "/ip/statements/{person_id:int}.pdf",
        response_class=Response,
        name="page_ip_person_statement_pdf",
    )
    def person_statement_pdf(person_id: int, session: ReadSession) -> Response:
        """A contributor's statement for the owner's officers (only the assets their units
        own) and the platform; the contributor themself gets their whole statement."""
        return _pdf(views.statement(rewards.statement(session, person_id)))

    @router.get("/ip/deadlines", response_class=HTMLResponse, name="page_ip_deadlines")
    def deadlines_page(request: Request, session: ReadSession, within: str = "90d") -> HTMLResponse:
        """The calendar of the caller's units (officers and admins)."""
        service.refuse_non_managers()
        messages: list[str] = []
        try:
            days = due.parse_window(within)
        except BadRequest as error:
            messages, within, days = [error.render(translate)], "90d", 90
        today = date.today()
        found = due.upcoming(session, today, days)
        context = {
            "deadlines": [due.as_dict(d) for d in found],
            "start": today.isoformat(),
            "end": (today + timedelta(days=days)).isoformat(),
            "within": within,
            "windows": _windows(within),
            "messages": messages,
            "yuan": _yuan,
        }
        return render(request, "ip/deadlines.html", context, status_code=422 if messages else 200)

    @router.get("/ip/deadlines.ics", response_class=Response, name="page_ip_deadlines_ics")
    def deadlines_ics(session: ReadSession, within: str = "365d") -> Response:
        service.refuse_non_managers()
        found = due.upcoming(session, date.today(), due.parse_window(within))
        headers = {
            "Content-Disposition": 'attachment; filename="shelfbridge-deadlines.ics"',
            "Cache-Control": "private, no-store",
        }
        return Response(
            ical.calendar(found), media_type="text/calendar; charset=utf-8", headers=headers
        )

    @router.post(
        "/ip/assets/{asset_id:int}/office-actions",
        response_model=None,
        name="page_ip_office_action_create",
    )
    def add_office_action(asset_id: int, session: WriteSession, data: FormData) -> Any:
        given = {k: v for k, v in data.items() if v.strip()}
        office_actions.add_office_action(session, asset_id, given)
        return RedirectResponse(f"/ip/assets/{asset_id}", status_code=303)

    @router.post(
        "/ip/office-actions/{action_id:int}/respond",
        response_model=None,
        name="page_ip_office_action_respond",
    )
    def respond_office_action(action_id: int, session: WriteSession, data: FormData) -> Any:
        on = _day(data.get("responded_on")) if data.get("responded_on") else date.today()
        action = office_actions.respond_office_action(session, action_id, on)
        return RedirectResponse(f"/ip/assets/{action.asset_id}", status_code=303)

    @router.post(
        "/ip/office-actions/{action_id:int}/extend",
        response_model=None,
        name="page_ip_office_action_extend",
    )
    def extend_office_action(action_id: int, session: WriteSession, data: FormData) -> Any:
        given = {k: v for k, v in data.items() if v.strip()}
        action = office_actions.extend_office_action(session, action_id, given)
        return RedirectResponse(f"/ip/assets/{action.asset_id}", status_code=303)

    @router.get("/ip/report", response_class=HTMLResponse, name="page_ip_report")
    def report_page(
        request: Request,
        session: ReadSession,
        org: str | None = None,
        year: str | None = None,
    ) -> HTMLResponse:
        """The Art. 21 annual report of one of the caller's units (officers and admins)."""
        service.refuse_non_managers()
        units = report.units(session)
        chosen_year = report.check_year(year) if year else date.today().year - 1
        named = int(org) if org and org.strip().isdigit() and len(org) < 18 else None
        chosen = named if named is not None else (units[0][0] if len(units) == 1 else None)
        found = report.build(session, chosen, chosen_year) if chosen is not None else None
        context = {
            "r": found,
            "units": units,
            "org": chosen,
            "year": chosen_year,
            "years": list(range(date.today().year, date.today().year - 10, -1)),
            "yuan": _yuan,
        }
        return render(request, "ip/report.html", context)

    @router.get("/ip/report.xlsx", response_class=Response, name="page_ip_report_xlsx")
    def report_xlsx(
        session: ReadSession, org: Annotated[int, Query(ge=1, le=2**62)], year: str
    ) -> Response:
        service.refuse_non_managers()
        found = report.build(session, org, report.check_year(year))
        headers = {
            "Content-Disposition": f'attachment; filename="{report.filename(found)}"',
            "Cache-Control": "private, no-store",
        }
        return Response(report.xlsx(found), media_type=report.XLSX_TYPE, headers=headers)

    # Annual-fee payments (the form and the delete button).
    from shelfbridge.ip.fee_pages import build_router as fee_router

    router.include_router(fee_router())
    return router


def _windows(chosen: str) -> list[tuple[str, str]]:
    choices = [
        ("30d", translate("30 days")),
        ("90d", translate("90 days")),
        ("180d", translate("180 days")),
        ("365d", translate("one year")),
    ]
    if chosen not in {value for value, _text in choices}:
        choices.append((chosen, chosen))
    return choices


def _pdf(found: dict[str, Any]) -> Response:
    content = statement_pdf.render(found)
    disposition = f'attachment; filename="{statement_pdf.filename(found)}"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "private, no-store"}
    return Response(content, media_type="application/pdf", headers=headers)


__all__ = ["build_router"]

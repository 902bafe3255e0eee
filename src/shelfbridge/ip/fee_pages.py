"""HTML pages of annual-fee payments: the form that records the fee of one patent year (also
offered inline on each annual fee of the asset page and the deadlines page) and the button
that deletes a payment recorded in error.

Forms are POSTed with the visitor's CSRF token (the page routers' dependency); a rejected
payment is shown again on the form with its problems (422), and a refusal of another kind is
the error page of its status (403, 404, 409)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from shelfbridge.accounts import policy
from shelfbridge.core.errors import FieldProblem, ValidationFailed
from shelfbridge.core.i18n import translate
from shelfbridge.ip import fees, service, views
from shelfbridge.ip.ledger_pages import FormData
from shelfbridge.registry.pages.common import render
from shelfbridge.web.deps import ReadSession, WriteSession

ROUTES = {
    "page_ip_fee_payment_new": policy.SIGNED_IN,
    "page_ip_fee_payment_create": policy.SIGNED_IN,
    "page_ip_fee_payment_delete": policy.SIGNED_IN,
}
FIELDS = ("patent_year", "amount", "paid_on", "late_fee", "restored", "reference", "note")
# Where a form may send the visitor back to: the asset (default) or the deadlines page.
BACK = {"asset": "/ip/assets/{asset_id}", "deadlines": "/ip/deadlines"}


def _form(
    request: Request,
    session: Session,
    asset_id: int,
    values: dict[str, str],
    problems: list[FieldProblem],
    status_code: int = 200,
) -> HTMLResponse:
    record = service.get_asset(session, asset_id)
    service.require_manager(record.owner_org_id)
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.field, problem.render(translate))
    context: dict[str, Any] = {
        "asset": views.asset(record, weights=True),
        "values": values,
        "errors": errors,
        "messages": [p.render(translate) for p in problems],
        "back": values.get("back") if values.get("back") in BACK else "asset",
    }
    return render(request, "ip/fee_payment_form.html", context, status_code=status_code)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter()

    @router.get(
        "/ip/assets/{asset_id:int}/fee-payments/new",
        response_class=HTMLResponse,
        name="page_ip_fee_payment_new",
    )
    def new_payment(
        request: Request, asset_id: int, session: ReadSession, year: str = ""
    ) -> HTMLResponse:
        """The form, filled in from the schedule when the year is named."""
        values = {"paid_on": date.today().isoformat(), "back": request.query_params.get("back")}
        record = service.get_asset(session, asset_id)
        service.require_manager(record.owner_org_id)
        if year.isdigit() and len(year) < 3:
            values["patent_year"] = year
            terms = fees.fee_terms(record, int(year))
            if terms is not None and terms.expected_fee is not None:
                values["amount"] = f"{terms.expected_fee:.2f}"
        return _form(request, session, asset_id, {k: v for k, v in values.items() if v}, [])

    @router.post(
        "/ip/assets/{asset_id:int}/fee-payments",
        response_model=None,
        name="page_ip_fee_payment_create",
    )
    def create_payment(
        request: Request, asset_id: int, session: WriteSession, data: FormData
    ) -> Any:
        values = {name: data.get(name, "") for name in FIELDS}
        try:
            fees.record_payment(session, asset_id, values)
        except ValidationFailed as failed:
            session.rollback()
            shown = {**values, "back": data.get("back", "")}
            return _form(request, session, asset_id, shown, failed.problems, 422)
        back = BACK.get(data.get("back", ""), BACK["asset"])
        return RedirectResponse(back.format(asset_id=asset_id), status_code=303)

    @router.post(
        "/ip/fee-payments/{payment_id:int}/delete",
        response_model=None,
        name="page_ip_fee_payment_delete",
    )
    def delete_payment(payment_id: int, session: WriteSession) -> Any:
        asset_id = fees.delete_payment(session, payment_id)
        return RedirectResponse(f"/ip/assets/{asset_id}", status_code=303)

    return router


__all__ = ["build_router"]

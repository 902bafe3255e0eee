"""HTML pages of the IP domain: the reward calculator (``/rewards/simulate``).

The calculator is a read-only computation, so its form is sent with GET: the answer has a URL
that can be bookmarked or shared, and it needs no CSRF token. A request without any field
shows the empty form; one with fields shows the answer, or the problem (422) above the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shelfbridge.core.errors import BadRequest, ShelfbridgeError
from shelfbridge.core.i18n import N_, translate
from shelfbridge.ip.calculator import Simulation, simulate
from shelfbridge.ip.rules import (
    MODES,
    NATIONAL,
    PATENT_TYPES,
    UNIT_TYPES,
    jurisdiction_name,
    province_codes,
)
from shelfbridge.registry.pages.common import render

FIELDS = (
    "jurisdiction",
    "unit_type",
    "mode",
    "amount",
    "contributors",
    "date",
    "policy",
    "patent_type",
)


@dataclass
class Outcome:
    values: dict[str, str]
    result: Simulation | None = None
    messages: tuple[str, ...] = ()

    @property
    def asked(self) -> bool:
        return any(self.values.values())


def _jurisdictions() -> list[tuple[str, str]]:
    codes = [NATIONAL, *province_codes()]
    return [(code, jurisdiction_name(code)) for code in codes]


def _yuan(text: str) -> str:
    """``70000.00`` → ``¥70,000.00`` (the JSON keeps the plain decimal text)."""
    return f"¥{Decimal(text):,.2f}"


def _day(value: str) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(N_("The date must be a day such as 2024-05-01.")) from None


def run(values: dict[str, str]) -> Outcome:
    outcome = Outcome(values)
    if not outcome.asked:
        return outcome
    if not all(values[name] for name in ("jurisdiction", "unit_type", "mode", "contributors")):
        outcome.messages = (
            translate(N_("Fill in the jurisdiction, unit type, mode and contributors.")),
        )
        return outcome
    try:
        outcome.result = simulate(
            values["jurisdiction"],
            values["unit_type"],
            values["mode"],
            values["amount"] or None,
            values["contributors"],
            _day(values["date"]),
            policy=values["policy"] or None,
            patent_type=values["patent_type"] or None,
        )
    except ShelfbridgeError as error:
        outcome.messages = tuple(error.render(translate).splitlines())
    return outcome


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get("/rewards/simulate", response_class=HTMLResponse, name="page_rewards_simulate")
    def simulate_page(request: Request) -> HTMLResponse:
        values = {name: request.query_params.get(name, "").strip()[:2000] for name in FIELDS}
        outcome = run(values)
        context: dict[str, Any] = {
            "outcome": outcome,
            "values": values,
            "data": outcome.result.as_json() if outcome.result else None,
            "jurisdictions": _jurisdictions(),
            "unit_types": [(code, translate(label)) for code, label in UNIT_TYPES.items()],
            "modes": [(code, translate(label)) for code, label in MODES.items()],
            "patent_types": [(code, translate(label)) for code, label in PATENT_TYPES.items()],
            "yuan": _yuan,
        }
        status = 422 if outcome.messages else 200
        return render(request, "ip/simulate.html", context, status_code=status)

    # The ledger's pages (assets, deals, income, distributions, statements).
    from shelfbridge.ip.ledger_pages import build_router as ledger_router

    router.include_router(ledger_router())
    # Invention disclosures, their assessment and filing decision.
    from shelfbridge.ip.disclosure_pages import build_router as disclosure_router

    router.include_router(disclosure_router())
    # A unit's own reward policies beside the floors that bind it.
    from shelfbridge.ip.policy_pages import build_router as policy_router

    router.include_router(policy_router())
    return router


__all__ = ["build_router", "run"]

"""What every registry page shares: sessions, rendering, labels of reference terms, formats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from shelfbridge.core.i18n import N_, current_language, gettext
from shelfbridge.registry import repository
from shelfbridge.registry import vocabularies as v

NOTICE_COOKIE = "shelfbridge_notice"
NOTICES = {
    "created": N_("The record was created."),
    "saved": N_("Your changes were saved."),
    "deleted": N_("The record was deleted."),
    "shared": N_("The organisation can now see this record."),
    "unshared": N_("The grant was withdrawn; the organisation no longer sees this record."),
}


async def form_data(request: Request) -> dict[str, str]:
    """The submitted fields as text (file parts are ignored)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


def is_htmx(request: Request) -> bool:
    """A partial request from htmx (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )
    return response


def take_notice(request: Request) -> str | None:
    """The message left by the previous request (a create, save or delete), if any."""
    key = request.cookies.get(NOTICE_COOKIE)
    return gettext(NOTICES[key]) if key in NOTICES else None


def clear_notice(request: Request, response: HTMLResponse) -> HTMLResponse:
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def leave_notice(response: Any, key: str) -> None:
    response.set_cookie(NOTICE_COOKIE, key, max_age=120, path="/", httponly=True, samesite="lax")


def query_string(params: Mapping[str, Any]) -> str:
    """``?a=1&b=2`` without empty values, or an empty string."""
    kept = [(k, str(value)) for k, value in params.items() if value not in (None, "")]
    return "?" + urlencode(kept) if kept else ""


@dataclass(frozen=True)
class Lookups:
    """Labels of the coded vocabularies kept as data, in the language of the request."""

    trl: dict[str, str]
    industry: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> Lookups:
        zh = current_language.get() == "zh"

        def labels(vocabulary: str) -> dict[str, str]:
            return {
                term.code: term.label_zh if zh else term.label_en
                for term in repository.reference_terms(session, vocabulary)
            }

        return cls(trl=labels(v.TRL_VOCABULARY), industry=labels(v.INDUSTRY_VOCABULARY))

    def trl_label(self, level: int | None) -> str:
        if level is None:
            return ""
        text = self.trl.get(str(level))
        return f"TRL {level} · {text}" if text else f"TRL {level}"

    def industry_label(self, code: str | None) -> str:
        if not code:
            return ""
        text = self.industry.get(code)
        return f"{code} · {text}" if text else code


def yuan(value: Decimal | None) -> str:
    return "" if value is None else f"¥{value:,.2f}"


def budget(low: Decimal | None, high: Decimal | None) -> str:
    if low is None and high is None:
        return ""
    if low is not None and high is not None:
        return yuan(low) if low == high else f"{yuan(low)} – {yuan(high)}"
    if low is not None:
        return gettext("from {amount}", amount=yuan(low))
    return gettext("up to {amount}", amount=yuan(high))


def day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def moment(value: datetime | str | None) -> str:
    """A point in time as ``2026-05-01 14:03 UTC`` (audit events store ISO text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    return value.strftime("%Y-%m-%d %H:%M UTC")


FORMATTERS = {"moment": moment, "yuan": yuan, "day": day, "budget": budget}

"""Sharing grants on a result's or a demand's page: the owner's officers and admins give one
to another organisation and withdraw it; nobody else sees the section.

The section is part of the detail page (:func:`sharing_panel`); giving and withdrawing are
two form posts (CSRF-protected like every page form) that redirect back to it, or show the
page again with the problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from shelfbridge.accounts import sharing
from shelfbridge.core.errors import Conflict, ValidationFailed
from shelfbridge.core.i18n import translate
from shelfbridge.core.models import utcnow
from shelfbridge.registry import service
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.pages.common import FormData, leave_notice
from shelfbridge.registry.pages.kinds import KindPage
from shelfbridge.web.deps import RecordId, WriteSession

SHAREABLE = ("results", "demands")


@dataclass
class SharingPanel:
    """What the sharing section of a detail page shows."""

    grants: list[sharing.GrantRow]
    can_give: bool  # the record is ``partners``
    values: dict[str, str] = field(default_factory=lambda: {"organization": "", "note": ""})
    errors: dict[str, list[str]] = field(default_factory=dict)
    general_error: str | None = None


def sharing_panel(
    session: Session, page: KindPage, record: Any, **extra: Any
) -> SharingPanel | None:
    """The section for those who may share this record; None for everyone else."""
    if page.kind not in SHAREABLE or not sharing.may_share(record):
        return None
    panel = SharingPanel(
        grants=sharing.live_grants(session, record),
        can_give=record.confidentiality == v.PARTNERS,
    )
    for key, value in extra.items():
        setattr(panel, key, value)
    return panel


def _problems(failed: ValidationFailed) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = {}
    for problem in failed.problems:
        by_field.setdefault(problem.field, []).append(problem.render(translate))
    return by_field


def register(router: APIRouter, page: KindPage) -> None:
    # Imported here: records imports this module for the panel.
    from shelfbridge.registry.pages.records import render_detail

    kind = page.kind
    base = f"/{kind}/{{record_id:int}}/sharing"

    @router.post(base, response_model=None, name=f"page_share_{kind}")
    def give(
        request: Request, record_id: RecordId, session: WriteSession, data: FormData
    ) -> Response:
        record = service.get(session, kind, record_id)
        values = {"organization": data.get("organization", ""), "note": data.get("note", "")}
        try:
            sharing.give(session, record, values["organization"], values["note"])
        except (ValidationFailed, Conflict) as error:
            session.rollback()
            record = service.get(session, kind, record_id)
            panel: dict[str, Any] = {"values": values}
            if isinstance(error, ValidationFailed):
                panel["errors"] = _problems(error)
            else:
                panel["general_error"] = error.render(translate)
            return render_detail(request, session, page, record, error.status, sharing=panel)
        response = RedirectResponse(f"/{kind}/{record_id}#sharing", status_code=303)
        leave_notice(response, "shared")
        return response

    @router.post(
        f"{base}/{{grant_id:int}}/withdraw", response_model=None, name=f"page_unshare_{kind}"
    )
    def withdraw(
        request: Request, record_id: RecordId, grant_id: RecordId, session: WriteSession
    ) -> Response:
        record = service.get(session, kind, record_id)
        sharing.withdraw(session, record, grant_id, utcnow())
        response = RedirectResponse(f"/{kind}/{record_id}#sharing", status_code=303)
        leave_notice(response, "unshared")
        return response

"""One record's pages: detail with history, create and edit forms, delete with confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from shelfbridge.core.audit import events_for
from shelfbridge.core.errors import Conflict, FieldProblem, ValidationFailed
from shelfbridge.core.i18n import N_, gettext, translate
from shelfbridge.registry import repository, service
from shelfbridge.registry.models import Demand, Organization, Person, Result
from shelfbridge.registry.pages.common import (
    FORMATTERS,
    FormData,
    Lookups,
    clear_notice,
    leave_notice,
    moment,
    render,
    take_notice,
)
from shelfbridge.registry.pages.forms import (
    Datalists,
    build_fields,
    errors_by_field,
    form_values,
    organization_options,
)
from shelfbridge.registry.pages.kinds import PAGES, KindPage
from shelfbridge.registry.pages.lists import list_page
from shelfbridge.registry.pages.sharing import sharing_panel
from shelfbridge.web.deps import ReadSession, RecordId, WriteSession

ACTIONS = {"create": N_("Created"), "update": N_("Changed"), "delete": N_("Deleted")}
RELATED_SIZE = 5


@dataclass(frozen=True)
class HistoryRow:
    when: str
    who: str
    action: str
    changed: list[str]


@dataclass(frozen=True)
class Related:
    """A few records that point at this one, with the link to all of them."""

    title: str
    kind: str
    items: list[tuple[str, str]]  # (href, text)
    total: int
    href: str


def history(session: Session, page: KindPage, record: Any) -> list[HistoryRow]:
    names = {f.target: f.name for f in page.spec.fields}
    rows = []
    for event in events_for(session, page.audit_kind, record.id):
        before = json.loads(event.before) if event.before else {}
        after = json.loads(event.after) if event.after else {}
        changed: list[str] = []
        if event.action == "update":
            for key in sorted(set(before) | set(after)):
                if key != "id" and before.get(key) != after.get(key):
                    changed.append(page.field_label(names.get(key, key)))
        rows.append(
            HistoryRow(
                when=moment(event.occurred_at),
                who=event.actor,
                action=gettext(ACTIONS.get(event.action, event.action)),
                changed=changed,
            )
        )
    rows.reverse()  # newest first
    return rows


def _related(
    session: Session, title: str, kind: str, filters: dict[str, Any], name: Any
) -> Related:
    model = PAGES[kind].model
    found = repository.list_page(session, model, filters, RELATED_SIZE, 0)
    key, value = next(iter(filters.items()))
    return Related(
        title=gettext(title),
        kind=kind,
        items=[(f"/{kind}/{item.id}", name(item)) for item in found.items],
        total=found.total,
        href=f"/{kind}?{key}={value}",
    )


def related_of(session: Session, record: Any) -> list[Related]:
    if isinstance(record, Organization):
        return [
            _related(session, N_("Results owned"), "results", {"owner_id": record.id}, _title),
            _related(
                session, N_("Demands posted"), "demands", {"enterprise_id": record.id}, _title
            ),
            _related(session, N_("People"), "people", {"organization_id": record.id}, _name),
            _related(
                session,
                N_("Subordinate organisations"),
                "organizations",
                {"parent_id": record.id},
                _name,
            ),
        ]
    return []


def _title(record: Result | Demand) -> str:
    return record.title


def _name(record: Organization | Person) -> str:
    return record.name


def _form_context(
    page: KindPage,
    session: Session,
    values: dict[str, str],
    problems: list[FieldProblem],
    *,
    record: Any = None,
) -> dict[str, Any]:
    lookups = Lookups.load(session)
    by_field, general = errors_by_field(page, problems)
    datalists = Datalists()
    fields = build_fields(
        page,
        session,
        lookups,
        values,
        by_field,
        creating=record is None,
        datalists=datalists,
    )
    action = f"/{page.kind}/new" if record is None else f"/{page.kind}/{record.id}/edit"
    return {
        "page": page,
        "record": record,
        "fields": fields,
        "datalists": datalists.items,
        "general_errors": general,
        "has_errors": bool(problems),
        "action": action,
        "cancel_href": f"/{page.kind}" if record is None else f"/{page.kind}/{record.id}",
    }


def render_detail(
    request: Request,
    session: Session,
    page: KindPage,
    record: Any,
    status_code: int = 200,
    *,
    sharing: dict[str, Any] | None = None,
) -> HTMLResponse:
    """A record's page; ``sharing`` fills in its sharing section (values, problems)."""
    context = {
        "page": page,
        "record": record,
        "lookups": Lookups.load(session),
        "history": history(session, page, record),
        "related": related_of(session, record),
        "notice": take_notice(request),
        "fmt": FORMATTERS,
        "sharing": sharing_panel(session, page, record, **(sharing or {})),
        "may_change": service.may_change(page.kind, record),
    }
    response = render(request, f"registry/detail_{page.kind}.html", context, status_code)
    return clear_notice(request, response)


def _submitted(page: KindPage, data: dict[str, str]) -> dict[str, str]:
    return {name: data.get(name, "") for name in page.spec.columns}


def register(router: APIRouter, page: KindPage) -> None:
    kind = page.kind

    @router.get(f"/{kind}", response_class=HTMLResponse, name=f"page_list_{kind}")
    def list_records(request: Request, session: ReadSession) -> HTMLResponse:
        return list_page(request, session, page)

    @router.get(f"/{kind}/new", response_class=HTMLResponse, name=f"page_new_{kind}")
    def new_form(request: Request, session: ReadSession) -> HTMLResponse:
        # Fields may be filled in from the query (e.g. a demand for a given enterprise).
        values = {
            name: request.query_params.get(name, "")
            for name in page.spec.columns
            if request.query_params.get(name)
        }
        return render(request, "registry/form.html", _form_context(page, session, values, []))

    @router.post(f"/{kind}/new", response_model=None, name=f"page_create_{kind}")
    def create(request: Request, session: WriteSession, data: FormData) -> Response:
        values = _submitted(page, data)
        try:
            record = service.create(session, kind, values)
        except ValidationFailed as failed:
            session.rollback()
            context = _form_context(page, session, values, failed.problems)
            return render(request, "registry/form.html", context, status_code=422)
        response = RedirectResponse(f"/{kind}/{record.id}", status_code=303)
        leave_notice(response, "created")
        return response

    @router.get(f"/{kind}/{{record_id:int}}", response_class=HTMLResponse, name=f"page_{kind}")
    def detail(request: Request, record_id: RecordId, session: ReadSession) -> HTMLResponse:
        return render_detail(request, session, page, service.get(session, kind, record_id))

    @router.get(
        f"/{kind}/{{record_id:int}}/edit", response_class=HTMLResponse, name=f"page_edit_{kind}"
    )
    def edit_form(request: Request, record_id: RecordId, session: ReadSession) -> HTMLResponse:
        record = service.get_for_change(session, kind, record_id)
        context = _form_context(page, session, form_values(page, record), [], record=record)
        return render(request, "registry/form.html", context)

    @router.post(f"/{kind}/{{record_id:int}}/edit", response_model=None, name=f"page_update_{kind}")
    def update(
        request: Request, record_id: RecordId, session: WriteSession, data: FormData
    ) -> Response:
        values = _submitted(page, data)
        try:
            service.update(session, kind, record_id, values)
        except ValidationFailed as failed:
            session.rollback()
            record = service.get(session, kind, record_id)
            context = _form_context(page, session, values, failed.problems, record=record)
            return render(request, "registry/form.html", context, status_code=422)
        response = RedirectResponse(f"/{kind}/{record_id}", status_code=303)
        leave_notice(response, "saved")
        return response

    @router.get(
        f"/{kind}/{{record_id:int}}/delete",
        response_class=HTMLResponse,
        name=f"page_confirm_delete_{kind}",
    )
    def confirm_delete(request: Request, record_id: RecordId, session: ReadSession) -> HTMLResponse:
        record = service.get_for_change(session, kind, record_id)
        context = {"page": page, "record": record, "problem": None}
        return render(request, "registry/delete.html", context)

    @router.post(
        f"/{kind}/{{record_id:int}}/delete", response_model=None, name=f"page_delete_{kind}"
    )
    def delete(request: Request, record_id: RecordId, session: WriteSession) -> Response:
        try:
            service.delete(session, kind, record_id)
        except Conflict as conflict:
            session.rollback()
            record = service.get(session, kind, record_id)
            context = {"page": page, "record": record, "problem": conflict.render(translate)}
            return render(request, "registry/delete.html", context, status_code=409)
        response = RedirectResponse(f"/{kind}", status_code=303)
        leave_notice(response, "deleted")
        return response


def register_options(router: APIRouter) -> None:
    @router.get("/organizations/options", response_class=HTMLResponse, name="page_org_options")
    def options(request: Request, session: ReadSession) -> HTMLResponse:
        """``<option>``s of organisations for a reference field's suggestion list (htmx)."""
        params = request.query_params
        field_name = params.get("field", "q")
        query = (params.get(field_name) or params.get("q") or "").strip()[:200]
        only = params.get("only") or None
        context = {"options": organization_options(session, query, only)}
        return render(request, "registry/_options.html", context)

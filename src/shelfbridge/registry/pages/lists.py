"""List pages: filters kept in the URL, one page of rows, page numbers.

The filter form works as a plain GET form; with htmx it swaps only the list region and pushes
the canonical URL (empty filters left out) into the history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from shelfbridge.core.i18n import gettext
from shelfbridge.registry import repository, service
from shelfbridge.registry.pages.common import (
    Lookups,
    clear_notice,
    is_htmx,
    query_string,
    render,
    take_notice,
)
from shelfbridge.registry.pages.kinds import Filter, KindPage
from shelfbridge.registry.specs import SPECS
from shelfbridge.web.templating import label

PAGE_SIZES = (10, 20, 50, 100)
MAX_PAGE = 1_000_000
REGION = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class FilterField:
    """A filter as the form shows it."""

    name: str
    label: str
    kind: str
    value: str
    options: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Chip:
    """A filter by a record (owner, enterprise, …) shown as a removable tag."""

    name: str
    label: str
    value: str
    text: str
    remove_href: str


@dataclass(frozen=True)
class Pager:
    page: int
    size: int
    total: int

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_item(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.size + 1

    @property
    def last_item(self) -> int:
        return min(self.total, self.page * self.size)

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to show; ``None`` marks a gap."""
        wanted = {1, self.last} | set(range(self.page - around, self.page + around + 1))
        shown = sorted(n for n in wanted if 1 <= n <= self.last)
        numbers: list[int | None] = []
        for n in shown:
            if numbers and n - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(n)
        return numbers


def _positive(text: str | None, default: int, maximum: int) -> int:
    if text and text.isdigit():
        return max(1, min(int(text), maximum))
    return default


def read_filters(
    page: KindPage, params: Mapping[str, str], lookups: Lookups
) -> tuple[dict[str, Any], dict[str, str]]:
    """The criteria for the repository and the same values as text for the URL and form.

    Values that cannot be right (an unknown code, a TRL of 12) are left out, not refused: a
    list is for browsing, and a stale bookmark should still open.
    """
    criteria: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for spec in page.filters:
        text = (params.get(spec.name) or "").strip()
        if not text:
            continue
        value: Any = None
        if spec.kind in ("search", "text"):
            value = text[:200]
        elif spec.kind == "choice":
            value = text if spec.choices and text in spec.choices else None
        elif spec.kind == "industry":
            value = text.upper() if text.upper() in lookups.industry else None
        elif spec.kind == "trl":
            value = int(text) if text.isdigit() and 1 <= int(text) <= 9 else None
        elif spec.kind == "region":
            value = text if REGION.match(text) else None
        elif spec.kind == "ref":
            value = int(text) if text.isdigit() and 0 < int(text) < 2**31 else None
        if value is not None:
            criteria[spec.name] = value
            raw[spec.name] = str(value)
    return criteria, raw


def _options(spec: Filter, session: Session, lookups: Lookups) -> list[tuple[str, str]]:
    if spec.kind == "choice" and spec.choices:
        choices = dict(spec.choices)
        return [(code, label(choices, code)) for code in choices]
    if spec.kind == "industry":
        return [(code, f"{code} · {text}") for code, text in lookups.industry.items()]
    if spec.kind == "trl":
        return [(str(n), lookups.trl_label(n)) for n in range(1, 10)]
    if spec.kind == "region":
        return [(r.code, r.name) for r in repository.regions_by_level(session, "province")]
    return []


def _form(
    page: KindPage,
    session: Session,
    lookups: Lookups,
    criteria: dict[str, Any],
    raw: dict[str, str],
    kept: dict[str, str],
) -> tuple[list[FilterField], list[Chip]]:
    """The filter form's fields, and the filters by a record shown as chips."""
    fields: list[FilterField] = []
    chips: list[Chip] = []
    for spec in page.filters:
        if spec.kind != "ref":
            value = raw.get(spec.name, "")
            options = _options(spec, session, lookups)
            fields.append(FilterField(spec.name, gettext(spec.label), spec.kind, value, options))
        elif spec.name in raw and spec.ref_kind:
            record = repository.get_by_id(session, SPECS[spec.ref_kind].model, criteria[spec.name])
            text = record.name if record is not None else "#" + raw[spec.name]
            rest = {k: value for k, value in kept.items() if k != spec.name}
            remove = f"/{page.kind}" + query_string(rest)
            chips.append(Chip(spec.name, gettext(spec.label), raw[spec.name], text, remove))
    return fields, chips


def list_page(request: Request, session: Session, page: KindPage) -> HTMLResponse:
    settings = request.app.state.settings
    lookups = Lookups.load(session)
    params = request.query_params
    criteria, raw = read_filters(page, params, lookups)
    default_size = settings.page_size if settings.page_size in PAGE_SIZES else PAGE_SIZES[1]
    size = _positive(params.get("size"), default_size, max(PAGE_SIZES))
    if size not in PAGE_SIZES:
        size = default_size
    number = _positive(params.get("page"), 1, MAX_PAGE)

    model = SPECS[page.kind].model
    found = repository.list_page(session, model, criteria, size, (number - 1) * size)
    if not found.items and number > 1 and found.total:
        number = Pager(1, size, found.total).last  # past the end: show the last page
        found = repository.list_page(session, model, criteria, size, (number - 1) * size)

    kept = {**raw, "size": "" if size == default_size else str(size)}

    def page_href(n: int) -> str:
        return f"/{page.kind}" + query_string({**kept, "page": "" if n == 1 else str(n)})

    canonical = page_href(number)
    fields, chips = _form(page, session, lookups, criteria, raw, kept)
    partial = is_htmx(request)
    context = {
        "page": page,
        "fields": fields,
        "chips": chips,
        "rows": [
            (record, [column.cell(record, lookups) for column in page.columns])
            for record in found.items
        ],
        "pager": Pager(number, size, found.total),
        "page_href": page_href,
        "page_sizes": PAGE_SIZES,
        "size": size,
        "canonical_url": request.url.replace(query=canonical.partition("?")[2]),
        "filtered": bool(raw),
        "may_create": service.may_create(page.kind),
        "oob": partial,  # the language links follow the new URL
        "notice": None if partial else take_notice(request),
    }
    template = "registry/_list_region.html" if partial else "registry/list.html"
    response = render(request, template, context)
    response.headers["Vary"] = "HX-Request"
    if partial:
        response.headers["HX-Push-Url"] = canonical
        return response
    return clear_notice(request, response)


__all__ = ["Pager", "list_page", "read_filters"]

"""What each kind of record shows on its pages: names, list columns, filters and field labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shelfbridge.accounts.visibility import hidden_fields
from shelfbridge.core.i18n import N_, gettext
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.pages.common import Lookups, budget, day
from shelfbridge.registry.specs import SPECS, RecordSpec
from shelfbridge.web.templating import label

FIELD_LABELS: dict[str, str] = {
    "external_id": N_("External ID"),
    "name": N_("Name"),
    "name_en": N_("English name"),
    "kind": N_("Type"),
    "credit_code": N_("Unified social credit code"),
    "region_code": N_("Region"),
    "parent": N_("Parent organisation"),
    "website": N_("Website"),
    "description": N_("Description"),
    "organization": N_("Organisation"),
    "title": N_("Title"),
    "degree": N_("Degree"),
    "expertise": N_("Expertise"),
    "profile": N_("Research profile"),
    "email": N_("E-mail"),
    "abstract": N_("Abstract"),
    "keywords": N_("Keywords"),
    "discipline": N_("Discipline"),
    "ipc_codes": N_("IPC codes"),
    "trl": N_("Technology readiness level (TRL)"),
    "owner": N_("Owner"),
    "contributors": N_("Contributors"),
    "confidentiality": N_("Confidentiality"),
    "status": N_("Status"),
    "enterprise": N_("Enterprise"),
    "industry": N_("Industry"),
    "budget_min": N_("Minimum budget (yuan)"),
    "budget_max": N_("Maximum budget (yuan)"),
    "deadline": N_("Deadline"),
    "created_at": N_("Created on"),
    "updated_at": N_("Last changed on"),
}
KIND_FIELD_LABELS: dict[tuple[str, str], str] = {
    ("people", "name"): N_("Full name"),
    ("people", "title"): N_("Professional title"),
    ("organizations", "kind"): N_("Organisation type"),
    ("results", "kind"): N_("Result type"),
    ("demands", "description"): N_("What is needed"),
}


@dataclass(frozen=True)
class Cell:
    """One table cell: text, optionally a link and a second, quieter line."""

    text: str
    href: str | None = None
    note: str | None = None
    badge: str | None = None  # a status code, styled as a badge


@dataclass(frozen=True)
class Column:
    label: str  # message id
    cell: Callable[[Any, Lookups], Cell]
    css: str = ""


FilterKind = Literal["search", "choice", "industry", "trl", "region", "text", "ref"]


@dataclass(frozen=True)
class Filter:
    """One filter of a list; the names are those the JSON API list takes."""

    name: str
    label: str  # message id
    kind: FilterKind
    choices: Mapping[str, str] | None = None
    ref_kind: str | None = None  # for "ref": the kind whose record the id names


@dataclass(frozen=True)
class KindPage:
    kind: str  # plural, as in URLs
    audit_kind: str
    title: str  # message ids from here on
    singular: str
    new_label: str
    empty: str
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...]
    display_name: Callable[[Any], str]

    @property
    def spec(self) -> RecordSpec:
        return SPECS[self.kind]

    @property
    def model(self) -> type[Any]:
        return self.spec.model

    def field_label(self, name: str) -> str:
        """The translated label of a field of this kind."""
        return gettext(KIND_FIELD_LABELS.get((self.kind, name)) or FIELD_LABELS.get(name, name))


def _link(kind: str, record: Any) -> Cell:
    return Cell("") if record is None else Cell(record.name, href=f"/{kind}/{record.id}")


def _region(record: Any) -> str:
    region = getattr(record, "region", None)
    return region.name if region is not None else (record.region_code or "")


RESULT_COLUMNS = (
    Column(
        N_("Title"),
        lambda r, _: Cell(r.title, href=f"/results/{r.id}", note=r.external_id),
        "wide",
    ),
    Column(N_("Type"), lambda r, _: Cell(label(v.RESULT_KINDS, r.kind))),
    Column(N_("TRL"), lambda r, _: Cell(str(r.trl) if r.trl else "—"), "num"),
    Column(N_("Owner"), lambda r, _: _link("organizations", r.owner)),
    Column(N_("Discipline"), lambda r, _: Cell(r.discipline or "")),
    Column(N_("Status"), lambda r, _: Cell(label(v.RESULT_STATUSES, r.status), badge=r.status)),
)

DEMAND_COLUMNS = (
    Column(
        N_("Title"),
        lambda d, _: Cell(d.title, href=f"/demands/{d.id}", note=d.external_id),
        "wide",
    ),
    Column(N_("Enterprise"), lambda d, _: _link("organizations", d.enterprise)),
    Column(N_("Industry"), lambda d, lk: Cell(lk.industry_label(d.industry))),
    Column(N_("Region"), lambda d, _: Cell(_region(d))),
    Column(
        N_("Budget"),
        lambda d, _: Cell("—" if hidden_fields(d) else budget(d.budget_min, d.budget_max)),
        "num",
    ),
    Column(N_("Deadline"), lambda d, _: Cell(day(d.deadline)), "nowrap"),
    Column(N_("Status"), lambda d, _: Cell(label(v.DEMAND_STATUSES, d.status), badge=d.status)),
)

ORGANIZATION_COLUMNS = (
    Column(
        N_("Name"),
        lambda o, _: Cell(o.name, href=f"/organizations/{o.id}", note=o.name_en or o.external_id),
        "wide",
    ),
    Column(N_("Type"), lambda o, _: Cell(label(v.ORGANIZATION_KINDS, o.kind))),
    Column(N_("Region"), lambda o, _: Cell(_region(o))),
    Column(N_("Parent organisation"), lambda o, _: _link("organizations", o.parent)),
)

PERSON_COLUMNS = (
    Column(
        N_("Full name"),
        lambda p, _: Cell(p.name, href=f"/people/{p.id}", note=p.external_id),
        "wide",
    ),
    Column(N_("Organisation"), lambda p, _: _link("organizations", p.organization)),
    Column(N_("Professional title"), lambda p, _: Cell(label(v.TITLES, p.title))),
    Column(N_("Degree"), lambda p, _: Cell(label(v.DEGREES, p.degree))),
    Column(N_("Expertise"), lambda p, _: Cell("; ".join(p.expertise or []))),
)

SEARCH = N_("Search")
PAGES: dict[str, KindPage] = {
    "results": KindPage(
        kind="results",
        audit_kind="result",
        title=N_("Results"),
        singular=N_("Result"),
        new_label=N_("New result"),
        empty=N_("No results match these filters."),
        columns=RESULT_COLUMNS,
        filters=(
            Filter("q", SEARCH, "search"),
            Filter("kind", N_("Result type"), "choice", v.RESULT_KINDS),
            Filter("status", N_("Status"), "choice", v.RESULT_STATUSES),
            Filter("trl_min", N_("TRL from"), "trl"),
            Filter("trl_max", N_("TRL to"), "trl"),
            Filter("discipline", N_("Discipline"), "text"),
            Filter("confidentiality", N_("Confidentiality"), "choice", v.CONFIDENTIALITY),
            Filter("owner_id", N_("Owner"), "ref", ref_kind="organizations"),
        ),
        display_name=lambda r: r.title,
    ),
    "demands": KindPage(
        kind="demands",
        audit_kind="demand",
        title=N_("Demands"),
        singular=N_("Demand"),
        new_label=N_("New demand"),
        empty=N_("No demands match these filters."),
        columns=DEMAND_COLUMNS,
        filters=(
            Filter("q", SEARCH, "search"),
            Filter("industry", N_("Industry"), "industry"),
            Filter("region", N_("Province"), "region"),
            Filter("status", N_("Status"), "choice", v.DEMAND_STATUSES),
            Filter("confidentiality", N_("Confidentiality"), "choice", v.CONFIDENTIALITY),
            Filter("enterprise_id", N_("Enterprise"), "ref", ref_kind="organizations"),
        ),
        display_name=lambda d: d.title,
    ),
    "organizations": KindPage(
        kind="organizations",
        audit_kind="organization",
        title=N_("Organisations"),
        singular=N_("Organisation"),
        new_label=N_("New organisation"),
        empty=N_("No organisations match these filters."),
        columns=ORGANIZATION_COLUMNS,
        filters=(
            Filter("q", SEARCH, "search"),
            Filter("kind", N_("Organisation type"), "choice", v.ORGANIZATION_KINDS),
            Filter("region", N_("Province"), "region"),
            Filter("parent_id", N_("Parent organisation"), "ref", ref_kind="organizations"),
        ),
        display_name=lambda o: o.name,
    ),
    "people": KindPage(
        kind="people",
        audit_kind="person",
        title=N_("People"),
        singular=N_("Person"),
        new_label=N_("New person"),
        empty=N_("No people match these filters."),
        columns=PERSON_COLUMNS,
        filters=(
            Filter("q", SEARCH, "search"),
            Filter("title", N_("Professional title"), "choice", v.TITLES),
            Filter("degree", N_("Degree"), "choice", v.DEGREES),
            Filter("organization_id", N_("Organisation"), "ref", ref_kind="organizations"),
        ),
        display_name=lambda p: p.name,
    ),
}

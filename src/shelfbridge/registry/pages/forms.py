"""Forms of the registry: one widget per spec field, values in the import format.

The form sends the same raw text a CSV cell would hold (lists separated by ``;``, contributors
as ``name:share;name:share``, references by external id), so the service checks a form, an
API call and an import row with the same rules and messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shelfbridge.core.errors import FieldProblem
from shelfbridge.core.i18n import N_, gettext, translate
from shelfbridge.registry import repository
from shelfbridge.registry.fields import (
    Choice,
    Contributors,
    CreditCode,
    Day,
    Email,
    ExternalId,
    Field,
    Money,
    OrganizationRef,
    RegionCode,
    Term,
    Text,
    TextList,
    Url,
    WholeNumber,
)
from shelfbridge.registry.models import Organization
from shelfbridge.registry.pages.common import Lookups
from shelfbridge.registry.pages.kinds import KindPage
from shelfbridge.web.templating import label

DATALIST_SIZE = 50
WIDE_TEXT = 300  # text fields at least this long take the whole row
TEXTAREA = 2000  # and from this length on they are text areas

HINTS = {
    "new_external_id": N_("Leave empty to have one generated."),
    "list": N_("Separate several entries with “;”."),
    "contributors": N_(
        "name:share;name:share in percent, summing to 100, e.g. 张三:60;李四:40. "
        "Add @ and a person's external ID to link the person: 张三@PER-1:60."
    ),
    "money": N_("Yuan, with at most two decimals, e.g. 500000.00."),
    "region": N_("Six-digit GB/T 2260 code; type a place name to search."),
    "organization": N_("External ID of the organisation; type a name to search."),
    "enterprise": N_("External ID of an enterprise; type a name to search."),
    "credit_code": N_("18 characters (GB 32100-2015)."),
    "ipc": N_("For example G06F or A61K 31/495; separate several with “;”."),
}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    widget: str  # text | textarea | select | date
    value: str
    required: bool = False
    hint: str | None = None
    errors: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    datalist: str | None = None
    options_url: str | None = None
    input_type: str = "text"
    inputmode: str | None = None
    wide: bool = False
    mono: bool = False
    rows: int = 3


@dataclass
class Datalists:
    """The suggestion lists a form needs, each rendered once."""

    items: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def organization_options(
    session: Session, query: str = "", only: str | None = None
) -> list[tuple[str, str]]:
    """Organisations whose name contains ``query`` (or whose external id is it)."""
    criteria: dict[str, Any] = {"q": query or None, "kind": only}
    found = repository.list_page(session, Organization, criteria, DATALIST_SIZE, 0).items
    if not found and query:
        exact = repository.get_by_external_id(session, Organization, query)
        if exact is not None and (only is None or exact.kind == only):
            found = [exact]
    return [(o.external_id, o.name) for o in found]


def region_options(session: Session) -> list[tuple[str, str]]:
    options = []
    for province in repository.regions_by_level(session, "province"):
        options.append((province.code, province.name))
    for city in repository.regions_by_level(session, "city"):
        options.append((city.code, city.name))
    return options


def form_values(page: KindPage, record: Any) -> dict[str, str]:
    """A stored record as the text its form shows (the import format)."""
    values: dict[str, str] = {}
    for name, value in page.spec.export(record).items():
        values[name] = as_text(value)
    return values


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return ";".join(
                f"{c['name']}{'@' + c['person'] if c.get('person') else ''}:{c['share']}"
                for c in value
            )
        return "; ".join(str(item) for item in value)
    return str(value)


def errors_by_field(
    page: KindPage, problems: list[FieldProblem]
) -> tuple[dict[str, list[str]], list[str]]:
    """Messages next to their field; those for no field of the form go on top."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    columns = set(page.spec.columns)
    for problem in problems:
        message = problem.render(translate)
        if problem.field in columns:
            by_field.setdefault(problem.field, []).append(message)
        else:
            general.append(message)
    return by_field, general


def build_fields(
    page: KindPage,
    session: Session,
    lookups: Lookups,
    values: dict[str, str],
    errors: dict[str, list[str]],
    *,
    creating: bool,
    datalists: Datalists,
) -> list[FormField]:
    fields = []
    for spec_field in page.spec.fields:
        fields.append(
            _widget(
                page,
                spec_field,
                session,
                lookups,
                values.get(spec_field.name, ""),
                errors.get(spec_field.name, []),
                creating=creating,
                datalists=datalists,
            )
        )
    return fields


def _choice_options(spec_field: Choice, value: str) -> tuple[list[tuple[str, str]], str]:
    choices = dict(spec_field.choices or {})
    options = [(code, label(choices, code)) for code in choices]
    if spec_field.default is not None:
        return options, value or spec_field.default
    empty = gettext("Choose…") if spec_field.required else "—"
    return [("", empty), *options], value


def _widget(
    page: KindPage,
    spec_field: Field,
    session: Session,
    lookups: Lookups,
    value: str,
    errors: list[str],
    *,
    creating: bool,
    datalists: Datalists,
) -> FormField:
    name = spec_field.name
    common: dict[str, Any] = {
        "name": name,
        "label": page.field_label(name),
        "value": value,
        "required": spec_field.required,
        "errors": errors,
    }
    if isinstance(spec_field, ExternalId):
        hint = gettext(HINTS["new_external_id"]) if creating else None
        return FormField(widget="text", hint=hint, mono=True, **common)
    if isinstance(spec_field, Choice):
        options, common["value"] = _choice_options(spec_field, value)
        return FormField(widget="select", options=options, **common)
    if isinstance(spec_field, Term):
        options = [("", "—")] + [
            (code, f"{code} · {text}") for code, text in lookups.industry.items()
        ]
        return FormField(widget="select", options=options, **common)
    if isinstance(spec_field, WholeNumber):
        options = [("", "—")] + [
            (str(n), lookups.trl_label(n))
            for n in range(spec_field.minimum, spec_field.maximum + 1)
        ]
        return FormField(widget="select", options=options, wide=True, **common)
    if isinstance(spec_field, Contributors):
        return FormField(
            widget="textarea", hint=gettext(HINTS["contributors"]), wide=True, **common
        )
    if isinstance(spec_field, TextList):
        hint_key = "ipc" if name == "ipc_codes" else "list"
        return FormField(widget="text", hint=gettext(HINTS[hint_key]), wide=True, **common)
    if isinstance(spec_field, Money):
        return FormField(widget="text", hint=gettext(HINTS["money"]), inputmode="decimal", **common)
    if isinstance(spec_field, Day):
        return FormField(widget="text", input_type="date", **common)
    if isinstance(spec_field, RegionCode):
        if "regions" not in datalists.items:
            datalists.items["regions"] = region_options(session)
        return FormField(
            widget="text", hint=gettext(HINTS["region"]), datalist="regions", mono=True, **common
        )
    if isinstance(spec_field, OrganizationRef):
        only = spec_field.kinds[0] if len(spec_field.kinds) == 1 else None
        key = f"organizations-{only}" if only else "organizations"
        if key not in datalists.items:
            datalists.items[key] = organization_options(session, only=only)
        url = "/organizations/options?field=" + name + (f"&only={only}" if only else "")
        hint = HINTS["enterprise"] if only == "enterprise" else HINTS["organization"]
        return FormField(
            widget="text",
            hint=gettext(hint),
            datalist=key,
            options_url=url,
            mono=True,
            **common,
        )
    if isinstance(spec_field, CreditCode):
        return FormField(widget="text", hint=gettext(HINTS["credit_code"]), mono=True, **common)
    if isinstance(spec_field, Email):
        return FormField(widget="text", input_type="email", **common)
    if isinstance(spec_field, Url):
        return FormField(widget="text", input_type="url", wide=True, **common)
    if isinstance(spec_field, Text) and spec_field.max_length >= TEXTAREA:
        rows = 8 if spec_field.max_length > 20000 else 5
        return FormField(widget="textarea", wide=True, rows=rows, **common)
    if isinstance(spec_field, Text) and spec_field.max_length >= WIDE_TEXT:
        return FormField(widget="text", wide=True, **common)
    return FormField(widget="text", **common)

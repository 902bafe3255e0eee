"""What each kind of record accepts, how it is checked as a whole, and how it is written out.

One spec per kind serves the forms, the API and imports, so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shelfbridge.core.errors import FieldProblem
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.fields import (
    Choice,
    Cleaner,
    Contributors,
    CreditCode,
    Day,
    Email,
    ExternalId,
    Field,
    FieldError,
    IpcCodes,
    Money,
    OrganizationRef,
    RegionCode,
    Resolver,
    Term,
    Text,
    TextList,
    Url,
    WholeNumber,
)
from shelfbridge.registry.models import Demand, Organization, Person, Result


@dataclass(frozen=True)
class RecordSpec:
    kind: str  # plural name used in URLs, the CLI and file names
    model: type[Any]
    fields: tuple[Field, ...]
    checks: tuple[Callable[[dict[str, Any]], list[FieldProblem]], ...] = field(default=())
    id_prefix: str = "REC"

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @cached_property
    def column_set(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    @cached_property
    def _cleaners(self) -> tuple[tuple[str, str, Cleaner], ...]:
        """Per field: its column, its attribute and its rule as one function (made once)."""
        return tuple((f.name, f.target, f.cleaner()) for f in self.fields)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def clean(
        self, raw: Mapping[str, Any], resolver: Resolver, *, partial: bool = False
    ) -> tuple[dict[str, Any], list[FieldProblem]]:
        """Check one record; ``partial`` (an update) only checks the fields given."""
        clean: dict[str, Any] = {}
        problems: list[FieldProblem] = []
        for name, target, cleaner in self._cleaners:
            if partial and name not in raw:
                continue
            try:
                clean[target] = cleaner(raw.get(name), resolver)
            except FieldError as error:
                problems.append(FieldProblem(name, error.message, error.params))
        if not problems:
            for check in self.checks:
                problems.extend(check(clean))
        return clean, problems

    def export(self, record: Any) -> dict[str, Any]:
        """The record in import form: references by external id, money as text."""
        row: dict[str, Any] = {}
        for spec_field in self.fields:
            row[spec_field.name] = spec_field.export(getattr(record, spec_field.target))
        for name, getter in EXPORT_REFERENCES.get(self.kind, {}).items():
            row[name] = getter(record)
        return row


def _budget_order(clean: dict[str, Any]) -> list[FieldProblem]:
    low, high = clean.get("budget_min"), clean.get("budget_max")
    if low is not None and high is not None and low > high:
        return [FieldProblem("budget_max", "The maximum budget is below the minimum budget.")]
    return []


def _contributor_rows(result: Result) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "share": str(c.share),
            **({"person": c.person.external_id} if c.person is not None else {}),
        }
        for c in result.contributors
    ]


EXPORT_REFERENCES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "organizations": {"parent": lambda o: o.parent.external_id if o.parent else None},
    "people": {"organization": lambda p: p.organization.external_id if p.organization else None},
    "results": {
        "owner": lambda r: r.owner.external_id if r.owner else None,
        "contributors": _contributor_rows,
    },
    "demands": {"enterprise": lambda d: d.enterprise.external_id},
}

ORGANIZATIONS = RecordSpec(
    kind="organizations",
    model=Organization,
    id_prefix="ORG",
    fields=(
        ExternalId("external_id"),
        Text("name", required=True, max_length=200),
        Text("name_en", max_length=300),
        Choice("kind", required=True, choices=v.ORGANIZATION_KINDS),
        CreditCode("credit_code"),
        RegionCode("region_code"),
        OrganizationRef("parent", attribute="parent_id"),
        Url("website"),
        Text("description", max_length=20000),
    ),
)

PEOPLE = RecordSpec(
    kind="people",
    model=Person,
    id_prefix="PER",
    fields=(
        ExternalId("external_id"),
        Text("name", required=True, max_length=100),
        OrganizationRef("organization", attribute="organization_id"),
        Choice("title", choices=v.TITLES),
        Choice("degree", choices=v.DEGREES),
        TextList("expertise", item_max_length=60, max_items=30),
        Text("profile", max_length=5000),
        Email("email"),
    ),
)

RESULTS = RecordSpec(
    kind="results",
    model=Result,
    id_prefix="RES",
    fields=(
        ExternalId("external_id"),
        Choice("kind", required=True, choices=v.RESULT_KINDS),
        Text("title", required=True, max_length=500),
        Text("abstract", max_length=50000),
        TextList("keywords", item_max_length=100, max_items=50),
        Text("discipline", max_length=100),
        IpcCodes("ipc_codes", item_max_length=20, max_items=50),
        WholeNumber("trl", minimum=1, maximum=9),
        OrganizationRef("owner", attribute="owner_org_id"),
        Contributors("contributors"),
        Choice("confidentiality", choices=v.CONFIDENTIALITY, default=v.PUBLIC),
        Choice("status", choices=v.RESULT_STATUSES, default="available"),
    ),
)

DEMANDS = RecordSpec(
    kind="demands",
    model=Demand,
    id_prefix="DEM",
    fields=(
        ExternalId("external_id"),
        OrganizationRef(
            "enterprise", required=True, attribute="enterprise_id", kinds=("enterprise",)
        ),
        Text("title", required=True, max_length=300),
        Text("description", required=True, max_length=20000),
        Term("industry", vocabulary=v.INDUSTRY_VOCABULARY),
        RegionCode("region_code"),
        Money("budget_min"),
        Money("budget_max"),
        Day("deadline"),
        Choice("confidentiality", choices=v.CONFIDENTIALITY, default=v.PUBLIC),
        Choice("status", choices=v.DEMAND_STATUSES, default="open"),
    ),
    checks=(_budget_order,),
)

SPECS: dict[str, RecordSpec] = {
    spec.kind: spec for spec in (ORGANIZATIONS, PEOPLE, RESULTS, DEMANDS)
}

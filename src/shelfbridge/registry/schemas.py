"""Pydantic shapes of the JSON API (documentation and type checks of the envelope).

Field rules themselves live in :mod:`shelfbridge.registry.specs` and run after these shapes,
so the API, the forms and imports give the same answers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shelfbridge.accounts.visibility import hidden_fields

MONEY_PATTERN = r"^\d{1,13}(\.\d{1,2})?$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reference(BaseModel):
    id: int
    external_id: str
    name: str


class OrganizationIn(Strict):
    external_id: str | None = None
    name: str | None = Field(None, max_length=200)
    name_en: str | None = None
    kind: str | None = None
    credit_code: str | None = None
    region_code: str | None = None
    parent: str | None = Field(None, description="external_id of the parent organisation")
    website: str | None = None
    description: str | None = None


class OrganizationOut(BaseModel):
    id: int
    external_id: str
    name: str
    name_en: str | None
    kind: str
    credit_code: str | None
    region_code: str | None
    region_name: str | None
    parent: Reference | None
    website: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


class PersonIn(Strict):
    external_id: str | None = None
    name: str | None = None
    organization: str | None = Field(None, description="external_id of the organisation")
    title: str | None = None
    degree: str | None = None
    expertise: list[str] | None = None
    email: str | None = None


class PersonOut(BaseModel):
    id: int
    external_id: str
    name: str
    organization: Reference | None
    title: str | None
    degree: str | None
    expertise: list[str]
    email: str | None
    created_at: datetime
    updated_at: datetime


class ContributorIn(Strict):
    name: str
    share: str = Field(description='percentage as a decimal string, e.g. "33.33"')
    person: str | None = Field(None, description="external_id of the person")


class ContributorOut(BaseModel):
    name: str
    share: str
    person: Reference | None


class ResultIn(Strict):
    external_id: str | None = None
    kind: str | None = None
    title: str | None = None
    abstract: str | None = None
    keywords: list[str] | None = None
    discipline: str | None = None
    ipc_codes: list[str] | None = None
    trl: int | None = Field(None, ge=1, le=9)
    owner: str | None = Field(None, description="external_id of the owning organisation")
    contributors: list[ContributorIn] | None = None
    confidentiality: str | None = None
    status: str | None = None


class ResultOut(BaseModel):
    id: int
    external_id: str
    kind: str
    title: str
    abstract: str | None
    keywords: list[str]
    discipline: str | None
    ipc_codes: list[str]
    trl: int | None
    owner: Reference | None
    contributors: list[ContributorOut]
    confidentiality: str
    status: str
    hidden_fields: list[str] = Field(
        default_factory=list, description="fields withheld from this caller (shares, money)"
    )
    created_at: datetime
    updated_at: datetime


class DemandIn(Strict):
    external_id: str | None = None
    enterprise: str | None = Field(None, description="external_id of the enterprise")
    title: str | None = None
    description: str | None = None
    industry: str | None = None
    region_code: str | None = None
    budget_min: str | None = Field(
        None, pattern=MONEY_PATTERN, description='yuan, e.g. "500000.00"'
    )
    budget_max: str | None = Field(
        None, pattern=MONEY_PATTERN, description='yuan, e.g. "800000.00"'
    )
    deadline: date | None = None
    confidentiality: str | None = None
    status: str | None = None


class DemandOut(BaseModel):
    id: int
    external_id: str
    enterprise: Reference
    title: str
    description: str
    industry: str | None
    region_code: str | None
    region_name: str | None
    budget_min: str | None
    budget_max: str | None
    deadline: date | None
    confidentiality: str
    status: str
    hidden_fields: list[str] = Field(
        default_factory=list, description="fields withheld from this caller (shares, money)"
    )
    created_at: datetime
    updated_at: datetime


class PageOut(BaseModel):
    items: list[Any]
    total: int
    limit: int
    offset: int


def reference(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"id": record.id, "external_id": record.external_id, "name": record.name}


def money(value: Any) -> str | None:
    return None if value is None else str(value)


def organization_out(o: Any) -> dict[str, Any]:
    return {
        "id": o.id,
        "external_id": o.external_id,
        "name": o.name,
        "name_en": o.name_en,
        "kind": o.kind,
        "credit_code": o.credit_code,
        "region_code": o.region_code,
        "region_name": o.region.name if o.region else None,
        "parent": reference(o.parent),
        "website": o.website,
        "description": o.description,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def person_out(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "external_id": p.external_id,
        "name": p.name,
        "organization": reference(p.organization),
        "title": p.title,
        "degree": p.degree,
        "expertise": list(p.expertise or []),
        "email": p.email,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def result_out(r: Any) -> dict[str, Any]:
    hidden = hidden_fields(r)
    return {
        "id": r.id,
        "external_id": r.external_id,
        "kind": r.kind,
        "title": r.title,
        "abstract": r.abstract,
        "keywords": list(r.keywords or []),
        "discipline": r.discipline,
        "ipc_codes": list(r.ipc_codes or []),
        "trl": r.trl,
        "owner": reference(r.owner),
        "contributors": []
        if "contributors" in hidden
        else [
            {"name": c.name, "share": str(c.share), "person": reference(c.person)}
            for c in r.contributors
        ],
        "hidden_fields": list(hidden),
        "confidentiality": r.confidentiality,
        "status": r.status,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def demand_out(d: Any) -> dict[str, Any]:
    hidden = hidden_fields(d)
    return {
        "id": d.id,
        "external_id": d.external_id,
        "enterprise": reference(d.enterprise),
        "title": d.title,
        "description": d.description,
        "industry": d.industry,
        "region_code": d.region_code,
        "region_name": d.region.name if d.region else None,
        "budget_min": None if "budget_min" in hidden else money(d.budget_min),
        "budget_max": None if "budget_max" in hidden else money(d.budget_max),
        "hidden_fields": list(hidden),
        "deadline": d.deadline,
        "confidentiality": d.confidentiality,
        "status": d.status,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }

"""Pydantic shapes of the JSON API: what the OpenAPI document promises, checked first.

The request models state, and check, every rule that JSON Schema can express: text without
NUL characters, lengths, vocabularies, the forms of codes, dates and amounts, and no unknown
fields (no mass assignment). The field rules of :mod:`shelfbridge.registry.specs` run after
them, as for forms and imports, and check what a schema cannot: that a referenced record
exists, a credit code's check character, region and industry codes known to the reference
data, shares that sum to 100, uniqueness, and who may write for which organisation; the
field descriptions say so. Create models require what a new record needs; update models
(PATCH) take any subset of the fields, and a field a record cannot do without may be left out
but never set to null.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shelfbridge.accounts.visibility import hidden_fields
from shelfbridge.registry import vocabularies as v

# What Python's str.strip() (and so the field rules) removes, spelled out: engines differ on
# what "\s" covers (JavaScript's and Rust's leave out U+001C to U+001F).
SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]*$"
FILLED = rf"^[^\x00]*[^\x00{SPACE}][^\x00]*$"  # at least one character that is not a space
EXTERNAL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$"
MONEY_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
SHARE_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,2})?%?$"
REGION_PATTERN = r"^[0-9]{6}$"
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$"
INDUSTRY_PATTERN = r"^[A-Za-z]$"
IPC_PATTERN = r"^[A-Ha-h][0-9]{2}[A-Za-z]( ?[0-9]{1,4}/[0-9]{2,6})?$"
EMAIL_PATTERN = rf"^[^@\x00{SPACE}]+@[^@\x00{SPACE}]+\.[^@\x00{SPACE}]+$"
URL_PATTERN = rf"^https?://[^\x00{SPACE}]+$"

OWN_ID = "Unique among records of this kind."
AN_ORGANISATION = "external_id of an existing organisation"
WRITABLE = (
    " where your role lets you write (a university's officers and admins, an enterprise's "
    "users); it cannot be changed later"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reference(BaseModel):
    id: int
    external_id: str
    name: str


def _one_of(choices: Iterable[str]) -> str:
    return "^(" + "|".join(re.escape(choice) for choice in choices) + ")$"


def _field(
    *,
    required: bool = False,
    nullable: bool = True,
    enum: Iterable[str] | None = None,
    description: str | None = None,
    **rules: Any,
) -> Any:
    """One request field: required (create), optional and nullable, or optional but never
    null (``nullable=False``: an update of a field the record cannot do without; annotate it
    ``str``). ``rules`` are Pydantic's constraints, which also go into the document."""
    choices = list(enum) if enum is not None else None
    if choices is not None:
        rules["pattern"] = _one_of(choices)

    def shape(schema: dict[str, Any]) -> None:
        if choices is not None:
            for branch in schema.get("anyOf", [schema]):
                if branch.get("type") == "string":
                    branch["enum"] = choices
                    branch.pop("pattern", None)  # the same rule, said once
        if not nullable:
            schema.pop("default", None)

    default = ... if required else None
    return Field(default, description=description, json_schema_extra=shape, **rules)


def _text(max_length: int) -> Any:
    return _field(max_length=max_length, pattern=NO_NUL)


def _filled(max_length: int, *, required: bool) -> Any:
    """Text that may not be blank."""
    return _field(required=required, nullable=False, max_length=max_length, pattern=FILLED)


def _choice(choices: dict[str, str], *, required: bool = False, nullable: bool = True) -> Any:
    return _field(required=required, nullable=nullable, enum=choices)


def _external_id(*, required: bool = False, nullable: bool = True, description: str) -> Any:
    return _field(
        required=required, nullable=nullable, pattern=EXTERNAL_ID, description=description
    )


def _own_id(*, nullable: bool = True) -> Any:
    """The record's own external id: optional on create, never null on update."""
    if nullable:
        return _external_id(description=OWN_ID + " Generated when left out.")
    return _external_id(nullable=False, description=OWN_ID)


def _texts(max_items: int) -> Any:
    return _field(max_length=max_items)


def _region() -> Any:
    return _field(
        pattern=REGION_PATTERN,
        description="A GB/T 2260 region code that the reference data knows, e.g. 110000.",
    )


Keyword = Annotated[str, Field(max_length=100, pattern=NO_NUL)]
Expertise = Annotated[str, Field(max_length=60, pattern=NO_NUL)]
IpcCode = Annotated[str, Field(max_length=20, pattern=IPC_PATTERN)]


# ---------------------------------------------------------------- organisations
def _parent() -> Any:
    return _external_id(description=f"{AN_ORGANISATION}, not the organisation itself.")


def _credit_code() -> Any:
    return _field(
        pattern=CREDIT_CODE_PATTERN,
        description="Unified social credit code with a correct check character (GB 32100-2015).",
    )


def _website() -> Any:
    return _field(max_length=300, pattern=URL_PATTERN)


class OrganizationCreate(Strict):
    """A new organisation (platform admins only)."""

    external_id: str | None = _own_id()
    name: str = _filled(200, required=True)
    name_en: str | None = _text(300)
    kind: str = _choice(v.ORGANIZATION_KINDS, required=True)
    credit_code: str | None = _credit_code()
    region_code: str | None = _region()
    parent: str | None = _parent()
    website: str | None = _website()
    description: str | None = _text(20000)


class OrganizationUpdate(Strict):
    """Changes to an organisation: only the fields given change."""

    external_id: str = _own_id(nullable=False)
    name: str = _filled(200, required=False)
    name_en: str | None = _text(300)
    kind: str = _choice(v.ORGANIZATION_KINDS, nullable=False)
    credit_code: str | None = _credit_code()
    region_code: str | None = _region()
    parent: str | None = _parent()
    website: str | None = _website()
    description: str | None = _text(20000)


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


# ---------------------------------------------------------------- people
def _person_organization() -> Any:
    return _external_id(description=f"{AN_ORGANISATION}{WRITABLE}.")


class PersonCreate(Strict):
    """A new person, for an organisation where you may write."""

    external_id: str | None = _own_id()
    name: str = _filled(100, required=True)
    organization: str | None = _person_organization()
    title: str | None = _choice(v.TITLES)
    degree: str | None = _choice(v.DEGREES)
    expertise: list[Expertise] | None = _texts(30)
    profile: str | None = _text(5000)
    email: str | None = _field(max_length=200, pattern=EMAIL_PATTERN)


class PersonUpdate(Strict):
    """Changes to a person: only the fields given change."""

    external_id: str = _own_id(nullable=False)
    name: str = _filled(100, required=False)
    organization: str | None = _person_organization()
    title: str | None = _choice(v.TITLES)
    degree: str | None = _choice(v.DEGREES)
    expertise: list[Expertise] | None = _texts(30)
    profile: str | None = _text(5000)
    email: str | None = _field(max_length=200, pattern=EMAIL_PATTERN)


class PersonOut(BaseModel):
    id: int
    external_id: str
    name: str
    organization: Reference | None
    title: str | None
    degree: str | None
    expertise: list[str]
    profile: str | None
    email: str | None
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------- results
class ContributorIn(Strict):
    name: str = Field(max_length=100, pattern=FILLED)
    share: str = Field(
        pattern=SHARE_PATTERN,
        description='Percentage as a decimal string, more than 0 and at most 100, e.g. "33.33"; '
        "the shares of a result sum to exactly 100.",
    )
    person: str | None = Field(
        None, pattern=EXTERNAL_ID, description="external_id of an existing person"
    )


class ContributorOut(BaseModel):
    name: str
    share: str
    person: Reference | None


def _owner() -> Any:
    return _external_id(description=f"{AN_ORGANISATION}{WRITABLE}.")


def _contributors() -> Any:
    return _field(
        description="Contributors and their shares, which sum to exactly 100; only the "
        "owner's officers and admins may set them.",
    )


def _trl() -> Any:
    return _field(ge=1, le=9)


class ResultCreate(Strict):
    """A new result, owned by an organisation where you may write."""

    external_id: str | None = _own_id()
    kind: str = _choice(v.RESULT_KINDS, required=True)
    title: str = _filled(500, required=True)
    abstract: str | None = _text(50000)
    keywords: list[Keyword] | None = _texts(50)
    discipline: str | None = _text(100)
    ipc_codes: list[IpcCode] | None = _texts(50)
    trl: int | None = _trl()
    owner: str | None = _owner()
    contributors: list[ContributorIn] | None = _contributors()
    confidentiality: str | None = _choice(v.CONFIDENTIALITY)
    status: str | None = _choice(v.RESULT_STATUSES)


class ResultUpdate(Strict):
    """Changes to a result: only the fields given change."""

    external_id: str = _own_id(nullable=False)
    kind: str = _choice(v.RESULT_KINDS, nullable=False)
    title: str = _filled(500, required=False)
    abstract: str | None = _text(50000)
    keywords: list[Keyword] | None = _texts(50)
    discipline: str | None = _text(100)
    ipc_codes: list[IpcCode] | None = _texts(50)
    trl: int | None = _trl()
    owner: str | None = _owner()
    contributors: list[ContributorIn] | None = _contributors()
    confidentiality: str | None = _choice(v.CONFIDENTIALITY)
    status: str | None = _choice(v.RESULT_STATUSES)


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


# ---------------------------------------------------------------- demands
def _enterprise(*, required: bool, nullable: bool = True) -> Any:
    return _external_id(
        required=required,
        nullable=nullable,
        description=f"external_id of an existing enterprise{WRITABLE}.",
    )


def _industry() -> Any:
    return _field(
        pattern=INDUSTRY_PATTERN,
        description="A GB/T 4754 section code that the reference data knows, e.g. C.",
    )


def _budget(example: str) -> Any:
    return _field(
        pattern=MONEY_PATTERN,
        description=f'Yuan as a decimal string, e.g. "{example}"; the maximum is not below '
        "the minimum. Only the enterprise's own users and admins may set and see budgets.",
    )


class DemandCreate(Strict):
    """A new technology demand, posted by an enterprise where you may write."""

    external_id: str | None = _own_id()
    enterprise: str = _enterprise(required=True)
    title: str = _filled(300, required=True)
    description: str = _filled(20000, required=True)
    industry: str | None = _industry()
    region_code: str | None = _region()
    budget_min: str | None = _budget("500000.00")
    budget_max: str | None = _budget("800000.00")
    deadline: date | None = None
    confidentiality: str | None = _choice(v.CONFIDENTIALITY)
    status: str | None = _choice(v.DEMAND_STATUSES)


class DemandUpdate(Strict):
    """Changes to a demand: only the fields given change."""

    external_id: str = _own_id(nullable=False)
    enterprise: str = _enterprise(required=False, nullable=False)
    title: str = _filled(300, required=False)
    description: str = _filled(20000, required=False)
    industry: str | None = _industry()
    region_code: str | None = _region()
    budget_min: str | None = _budget("500000.00")
    budget_max: str | None = _budget("800000.00")
    deadline: date | None = None
    confidentiality: str | None = _choice(v.CONFIDENTIALITY)
    status: str | None = _choice(v.DEMAND_STATUSES)


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
        "profile": p.profile,
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

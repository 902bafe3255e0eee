"""schemathesis against ``/api/v1/openapi.json``: every operation of the JSON API, with
requests generated from the document itself (examples, coverage of boundaries and of invalid
values, then random cases), on a fresh database per operation holding two universities and an
enterprise with public, partners and internal records. Six identities send them: anonymous,
an officer and a researcher of university A, an officer and an admin of university B, and a
user of enterprise E1; a valid request goes out as all six, an invalid one as anonymous and
one of the others in turn. Every response passes all of schemathesis' checks (no server
error; documented status, content type, headers and body; invalid requests refused, valid
ones accepted), at least 5,000 requests in all, the same requests on every run (derandomized,
no example database), on SQLite and PostgreSQL alike (``make test`` runs both in CI).

One check is narrowed, not switched off: a schema-valid request refused with 422 (ST202)
passes only when every problem names a field whose rule the document states in words because
JSON Schema cannot check it (a reference to a record that must exist, a credit code's check
character, a region code the reference data knows, shares that sum to 100, uniqueness, who may
write for which organisation): see ``RULES_BEYOND_SCHEMA``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shelfbridge.accounts import tokens
from shelfbridge.accounts.actor import SYSTEM, current_actor
from shelfbridge.core.database import Database
from shelfbridge.core.models import utcnow
from shelfbridge.core.settings import Settings
from shelfbridge.matching import service as matching
from tests import auth, factories

MIN_REQUESTS = 5_000
EXAMPLES = 6  # random cases per operation, after its examples and coverage cases
BASE_URL = "http://testserver"
TOKEN_PATH = "/api/v1/auth/tokens/{token_id}"
ROW = re.compile(r"\[[0-9]+\]")  # contributors[3] -> contributors[]

# Per kind of record of the registry (its list and its records) or per operation, the fields
# whose rules go beyond JSON Schema (see the descriptions in registry/schemas.py, ip/api.py and
# matching/feedback_api.py): a 422 that names only these answers a schema-valid request
# correctly. A field of the rows of a list is named once for every row ("contributors[]").
RULES_BEYOND_SCHEMA = {
    # unique; a GB 32100 check character; a region the reference data knows; an existing parent
    "organizations": {"external_id", "credit_code", "region_code", "parent"},
    # unique; an existing organisation where the caller may write
    "people": {"external_id", "organization"},
    # unique; owner as for people; shares that sum to 100, existing people, the right to set them
    "results": {"external_id", "owner", "contributors"},
    # unique; an existing enterprise of the caller; known region and industry codes; the
    # maximum not below the minimum, and the right to set budgets at all
    "demands": {
        "external_id",
        "enterprise",
        "region_code",
        "industry",
        "budget_min",
        "budget_max",
    },
    "POST /api/v1/ip/assets": {
        "owner_org_id",  # an organisation whose ledger the caller manages (named if several)
        "result_id",  # an existing result of the same owner
        "external_id",  # unique
        "status",  # one of the initial statuses of the asset's kind
        "granted_on",  # needed when the status is granted
        "priority_on",  # not after the filing day
        "pct_filed_on",  # not before the priority day; given with the PCT number
        "jurisdiction",  # a region the reference data knows
        "unit_type",  # needed when the owner's kind gives no default
        "contributors",  # no name or person twice
        "contributors[]",  # an existing person; a name, or a person to take it from
    },
    "POST /api/v1/ip/policies": {
        "owner_org_id",  # as for assets
        "jurisdiction",  # as for assets
        "unit_type",  # as for assets
        # at least one percentage (named as the first), each at least the legal floors that
        # bind the unit (jurisdiction, unit type) on the day it takes effect
        "net_income_percent",
        "equity_percent",
        "main_contributors_percent",
    },
    "POST /api/v1/ip/disclosures": {
        "owner_org_id",  # a unit where the caller may disclose (named if several)
        "result_id",  # an existing result of the same unit
        "external_id",  # unique
        "conceived_on",  # not in the future
        "public_disclosure_on",  # not in the future, not before the conception
        "contributors",  # shares that sum to exactly 100; no name or person twice
        "contributors[]",  # an existing person; a name, or a person to take it from
    },
    "PATCH /api/v1/ip/disclosures/{disclosure_id}": {
        "result_id",  # as for a new disclosure
        "conceived_on",
        "public_disclosure_on",
        "contributors",
        "contributors[]",
    },
    # not before the previous step
    "POST /api/v1/ip/disclosures/{disclosure_id}/assessment": {"assessed_on"},
    "POST /api/v1/ip/disclosures/{disclosure_id}/decision": {
        "decided_on",  # not before the previous step
        "asset_kind",  # needed for a filing decision, and only for it
        "filed_on",  # an application (number, day) only for a filing decision
        "unit_type",  # the asset's: needed when the unit's kind gives no default
    },
    "POST /api/v1/ip/assets/{asset_id}/fee-payments": {
        "patent_year",  # from the year of grant to the last year of this patent's term
        "paid_on",  # not in the future, not before the year is payable, not after its grace
        "late_fee",  # only for a payment after the due day
    },
    "POST /api/v1/matches/feedback": {
        "source_id",  # needed for a demand or result source
        "query",  # needed, not blank, for a free-text source
        "organization_id",  # one the caller acts for; needed when there are several
    },
}


# ---------------------------------------------------------------- who calls, and how often
@dataclass
class Identity:
    name: str
    username: str | None = None
    user_id: int | None = None
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return auth.bearer(self.token) if self.token else {}


@dataclass
class Tally:
    """Requests of all operations together (one test item per operation)."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    per_operation: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def count(self, operation: str, status: int) -> None:
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.per_operation[operation] = self.per_operation.get(operation, 0) + 1


@dataclass
class Fuzz:
    database: Any
    client: Any
    identities: list[Identity]
    tally: Tally
    turn: int = 0

    def callers(self, case: Any) -> list[Identity]:
        """A valid request goes out as every identity. An invalid one (most of the coverage
        phase) as anonymous and one signed-in identity in turn: it must be refused whoever
        sends it, and six copies would triple the run for little."""
        if case.meta is None or case.meta.generation.mode.is_positive:
            return self.identities
        self.turn += 1
        signed_in = self.identities[1:]
        return [self.identities[0], signed_in[self.turn % len(signed_in)]]

    def issue_token(self, identity: Identity) -> None:
        """A token for the identity (again, when a fuzzed revocation ended its own)."""
        assert identity.user_id is not None
        with self.database.unit_of_work() as session:
            identity.token, _row = tokens.issue(session, identity.user_id, "fuzz", utcnow())


# tenant -> (external id, kind); identity -> (tenant, role)
ORGANIZATIONS = {
    "a": ("FZ-UNI-A", "university"),
    "b": ("FZ-UNI-B", "university"),
    "e1": ("FZ-ENT-E1", "enterprise"),
}
USERS = {
    "officer_a": ("a", "tto_officer"),
    "researcher_a": ("a", "researcher"),
    "officer_b": ("b", "tto_officer"),
    "admin_b": ("b", "org_admin"),
    "enterprise_e1": ("e1", "enterprise_user"),
}


def _seed(database: Any) -> None:
    """The tenants, each with public, partners and internal records, so that generated ids
    find records of every kind and visibility."""
    with database.unit_of_work() as session:
        for key, (external_id, kind) in ORGANIZATIONS.items():
            make = factories.enterprise if kind == "enterprise" else factories.organization
            make(session, external_id=external_id, name=f"模糊测试{key}")
        for key in ("a", "b"):
            owner = ORGANIZATIONS[key][0]
            person = factories.person(session, organization=owner)
            for confidentiality in ("public", "partners", "internal"):
                factories.result(
                    session,
                    owner=owner,
                    confidentiality=confidentiality,
                    contributors=f"甲@{person.external_id}:60;乙:40",
                )
        for confidentiality in ("public", "partners", "internal"):
            factories.demand(session, ORGANIZATIONS["e1"][0], confidentiality=confidentiality)


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    total = Tally()
    yield total
    elapsed = time.monotonic() - total.started
    print(
        f"\nschemathesis: {total.requests} requests to {len(total.per_operation)} operations "
        f"in {elapsed:.0f} s; statuses {dict(sorted(total.statuses.items()))}"
    )
    for operation, count in sorted(total.per_operation.items()):
        print(f"  {count:6d}  {operation}")
    if set(total.per_operation) >= set(OPERATIONS):  # not when only some operations ran
        assert total.requests >= MIN_REQUESTS, f"only {total.requests} requests were sent"


@pytest.fixture
def fuzz(app: Any, database: Any, tally: Tally, request: Any) -> Iterator[Fuzz]:
    """A fresh database per operation, its tenants and the identities' tokens; for an
    operation that matches, the match index built first (a first build fits the embedder,
    which on a loaded machine takes longer than a first request waits for it)."""
    _seed(database)
    identities = [Identity("anonymous")]
    for name, (tenant, role) in USERS.items():
        username = "fz-" + name.replace("_", "-")
        organization = ORGANIZATIONS[tenant][0]
        user_id = auth.create_user(database, username, memberships=[(organization, role)])
        identities.append(Identity(name, username, user_id))
    runtime = matching.runtime_of(database)
    if "match" in request.node.name and runtime is not None:
        token = current_actor.set(SYSTEM)
        try:
            runtime.building.build_missing()  # every target, here and now
        finally:
            current_actor.reset(token)
    with asgi.get_client(app) as client:
        state = Fuzz(database, client, identities, tally)
        for identity in identities[1:]:
            state.issue_token(identity)
        yield state


# ---------------------------------------------------------------- the document and the checks
def _document() -> dict[str, Any]:
    """The OpenAPI document as the application serves it (building it reaches no database;
    the calls go to each test's own application)."""
    from shelfbridge.web.app import create_app

    document: dict[str, Any] = create_app(Settings(), Database("sqlite:////dev/null")).openapi()
    return document


# Loaded at import, not from a fixture: schemathesis' lazy ``from_fixture`` (4.32) sets
# ``Function._nodeid``, which pytest 9.2 no longer has. One test item per operation; the tally
# adds their requests up.
schema = schemathesis.openapi.from_dict(_document())
OPERATIONS = [f"{r.ok().method.upper()} {r.ok().path}" for r in schema.get_all_operations()]


def _rules_beyond_schema(case: Any) -> set[str]:
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    if operation in RULES_BEYOND_SCHEMA:
        return RULES_BEYOND_SCHEMA[operation]
    parts = case.operation.path.split("/")  # "", "api", "v1", kind[, record id]
    return RULES_BEYOND_SCHEMA.get(parts[3], set()) if len(parts) in (4, 5) else set()


def _only_rules_beyond_schema(case: Any, response: Any) -> bool:
    rules = _rules_beyond_schema(case)
    if not rules or response.status_code != 422:
        return False
    try:
        errors = response.json()["errors"]
        fields = {ROW.sub("[]", error["field"]) for error in errors}
    except (ValueError, KeyError, TypeError):
        return False
    return bool(fields) and fields <= rules


@schemathesis.check
def positive_data_acceptance_within_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' own ``positive_data_acceptance``, except for 422s that name only fields
    of ``RULES_BEYOND_SCHEMA``."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _only_rules_beyond_schema(case, response):
            return None
        raise


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_its_documented_contract_for_every_identity(case: Any, fuzz: Fuzz) -> None:
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    for identity in fuzz.callers(case):
        response = case.call_and_validate(
            session=fuzz.client,
            base_url=BASE_URL,
            headers=identity.headers,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_acceptance_within_rules],
        )
        fuzz.tally.count(operation, response.status_code)
        revoked_own = case.operation.path == TOKEN_PATH and response.status_code == 204
        if revoked_own and identity.user_id is not None:
            fuzz.issue_token(identity)


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        (500, {"type": "x", "title": "x", "status": 500}, "ServerError"),
        (200, {"id": 1, "username": "no memberships, no name"}, "JsonSchemaError"),
    ],
)
def test_a_server_error_or_a_body_against_the_document_fails(
    status: int, body: dict[str, Any], failure: str
) -> None:
    """The checks used above can fail: here on made-up answers to ``GET /api/v1/auth/me``."""
    case = schema["/api/v1/auth/me"]["GET"].Case()
    with pytest.raises(FailureGroup) as raised:
        case.validate_response(_response(case, status, body))
    assert failure in {type(found).__name__ for found in raised.value.exceptions}


def _response(case: Any, status: int, body: dict[str, Any]) -> Any:
    raw = requests.Response()
    raw.status_code = status
    raw._content = json.dumps(body).encode()
    raw.headers["Content-Type"] = "application/json"
    raw.request = requests.Request("GET", BASE_URL + case.formatted_path).prepare()
    raw.url = raw.request.url or ""
    return raw

"""JSON API of invention disclosures under ``/api/v1/ip/disclosures``: list, read, draft and
change, the workflow's steps, the assessment and the filing decision.

The request models state, and check first, what JSON Schema can express (vocabularies,
lengths, days, id ranges, the form of a share); the services then check what it cannot, as
the field descriptions say: records that must exist, the shares' sum, days that cannot be in
the future or before the previous step, and the caller's right to act. A step the workflow
does not allow answers 409 naming the steps it does; one the caller may not take, 403; a
disclosure the caller may not see, 404 as if it did not exist."""
# No "from __future__ import annotations": FastAPI reads the annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shelfbridge.accounts import policy
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import PermissionDenied
from shelfbridge.ip import disclosure_decisions as decisions
from shelfbridge.ip import disclosure_service as disclosures
from shelfbridge.ip.api import Day
from shelfbridge.ip.disclosure_inputs import MAX_CONTRIBUTORS
from shelfbridge.ip.disclosure_models import (
    CONFIDENTIALITY,
    DECISIONS,
    DISCLOSURE_STATUSES,
    FILING_KINDS,
    RATINGS,
    RECOMMENDATIONS,
    SIMPLE_STEPS,
)
from shelfbridge.ip.disclosure_views import disclosure as view
from shelfbridge.registry.schemas import EXTERNAL_ID, FILLED, NO_NUL, _choice, _field, _filled
from shelfbridge.web.deps import MAX_ID, PROBLEM_RESPONSES, ReadSession, RecordId, WriteSession

ROUTES = {
    "list_ip_disclosures": policy.SIGNED_IN,
    "create_ip_disclosure": policy.SIGNED_IN,
    "get_ip_disclosure": policy.SIGNED_IN,
    "update_ip_disclosure": policy.SIGNED_IN,
    "transition_ip_disclosure": policy.SIGNED_IN,
    "assess_ip_disclosure": policy.SIGNED_IN,
    "decide_ip_disclosure": policy.SIGNED_IN,
}

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# A percentage above 0 and at most 100 with at most two decimals: "60", "33.33", "0.5".
SHARE_PATTERN = r"^(?:100(?:\.00?)?|[1-9][0-9]?(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"
PAST = "Not in the future."


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InventorIn(_Body):
    name: str | None = Field(
        None, max_length=100, pattern=FILLED, description="Default: the person's name"
    )
    share: str = Field(
        pattern=SHARE_PATTERN,
        description='Percent, e.g. "60" or "33.33"; the shares of a disclosure sum to exactly 100.',
    )
    main: bool = Field(False, strict=True, description="A main contributor (主要贡献人员)")
    person_id: Id | None = Field(
        None,
        description="The inventor's person: one that exists in the registry. A name or a "
        "person appears once in a disclosure.",
    )


def _inventors(*, required: bool) -> Any:
    return _field(
        required=required,
        nullable=False,
        min_length=1,
        max_length=MAX_CONTRIBUTORS,
        description="The inventors and their shares, which sum to exactly 100.",
    )


RESULT = "An existing result of the same unit (optional)."
PUBLIC = (
    "The day of the first public disclosure (paper, talk, exhibition), if any; not in the "
    "future and not before the conception. Within six months before filing it keeps novelty "
    "only in the cases of Patent Law Art. 24; the disclosure carries a warning."
)


class DisclosureCreate(_Body):
    """A new draft disclosure of one of your units (researchers, officers, admins)."""

    owner_org_id: Id | None = Field(
        None,
        description="A unit where you are a researcher, officer or admin; needed when you have "
        "several.",
    )
    title: str = _filled(500, required=True)
    abstract: str = _filled(20000, required=True)
    technical_field: str | None = _field(max_length=200, pattern=NO_NUL)
    conceived_on: Day | None = Field(None, description=PAST)
    public_disclosure_on: Day | None = Field(None, description=PUBLIC)
    public_disclosure_note: str | None = _field(max_length=300, pattern=NO_NUL)
    funding_source: str | None = _field(max_length=300, pattern=NO_NUL)
    confidentiality: str | None = _choice(CONFIDENTIALITY)
    result_id: Id | None = Field(None, description=RESULT)
    external_id: str | None = Field(
        None, pattern=EXTERNAL_ID, description="Unique among disclosures; generated when left out."
    )
    contributors: list[InventorIn] = _inventors(required=True)


class DisclosureUpdate(_Body):
    """Changes to a draft: only the fields given change (its author or the unit's officers)."""

    title: str = _filled(500, required=False)
    abstract: str = _filled(20000, required=False)
    technical_field: str | None = _field(max_length=200, pattern=NO_NUL)
    conceived_on: Day | None = Field(None, description=PAST)
    public_disclosure_on: Day | None = Field(None, description=PUBLIC)
    public_disclosure_note: str | None = _field(max_length=300, pattern=NO_NUL)
    funding_source: str | None = _field(max_length=300, pattern=NO_NUL)
    confidentiality: str = _choice(CONFIDENTIALITY, nullable=False)
    result_id: Id | None = Field(None, description=RESULT)
    contributors: list[InventorIn] = _inventors(required=False)


class StepIn(_Body):
    status: str = _choice({s: DISCLOSURE_STATUSES[s] for s in SIMPLE_STEPS}, required=True)
    on: Day | None = Field(
        None, description="The day of the step (default: today); not before the previous step"
    )


class AssessmentIn(_Body):
    novelty: str = _choice(RATINGS, required=True)
    inventive_step: str = _choice(RATINGS, required=True)
    market_potential: str = _choice(RATINGS, required=True)
    trl: int = Field(ge=1, le=9, description="Technology readiness level, 1 to 9")
    recommendation: str = _choice(RECOMMENDATIONS, required=True)
    notes: str | None = _field(max_length=decisions.NOTES_LENGTH, pattern=NO_NUL)
    assessed_on: Day | None = Field(
        None, description="Default: today; not before the previous step"
    )


class DecisionIn(_Body):
    decision: str = _choice(DECISIONS, required=True)
    asset_kind: str | None = _field(
        enum=FILING_KINDS,
        description="What to file: needed for a filing decision, and only for it.",
    )
    application_number: str | None = _field(
        max_length=60, pattern=NO_NUL, description="Only for a filing decision"
    )
    filed_on: Day | None = Field(None, description="Only for a filing decision")
    notes: str | None = _field(max_length=decisions.NOTES_LENGTH, pattern=NO_NUL)
    decided_on: Day | None = Field(None, description="Default: today; not before the previous step")


def _discloser() -> None:
    """Refused before the body is read: a caller who can disclose for no unit learns no more."""
    actor = current_actor.get()
    if not actor.is_unrestricted and not disclosures.disclosing_orgs(actor):
        raise PermissionDenied(disclosures.NOT_DISCLOSER)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    # Included by ip.api's router, whose prefix (/ip) and tag it takes.
    router = APIRouter(responses=PROBLEM_RESPONSES)

    @router.get("/disclosures", name="list_ip_disclosures")
    def list_disclosures(
        session: ReadSession,
        status: Annotated[
            str | None,
            Query(pattern="^(" + "|".join(DISCLOSURE_STATUSES) + ")$", max_length=20),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        """The disclosures the caller may see: all of their units' (officers, admins), or
        those they wrote or are named in (researchers)."""
        found, total = disclosures.page(session, status=status, limit=limit, offset=offset)
        items = [view(d, brief=True) for d in found]
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @router.post(
        "/disclosures",
        status_code=201,
        name="create_ip_disclosure",
        dependencies=[Depends(_discloser)],
    )
    def create(body: DisclosureCreate, session: WriteSession) -> dict[str, Any]:
        """A new draft disclosure with its inventors and their shares."""
        return view(disclosures.create(session, body.model_dump(exclude_none=True)))

    @router.get("/disclosures/{disclosure_id}", name="get_ip_disclosure")
    def get(disclosure_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """One disclosure, with the steps the caller may take next."""
        return view(disclosures.find(session, disclosure_id))

    @router.patch("/disclosures/{disclosure_id}", name="update_ip_disclosure")
    def update(
        disclosure_id: RecordId, body: DisclosureUpdate, session: WriteSession
    ) -> dict[str, Any]:
        """Change a draft (409 once it is submitted)."""
        changes = body.model_dump(exclude_unset=True)
        return view(disclosures.update(session, disclosure_id, changes))

    @router.post("/disclosures/{disclosure_id}/transitions", name="transition_ip_disclosure")
    def transition(disclosure_id: RecordId, body: StepIn, session: WriteSession) -> dict[str, Any]:
        """Submit, withdraw, or take up for assessment (409 for a step the workflow does not
        allow, naming those it does)."""
        return view(disclosures.transition(session, disclosure_id, body.status, body.on))

    @router.post("/disclosures/{disclosure_id}/assessment", name="assess_ip_disclosure")
    def assess(
        disclosure_id: RecordId, body: AssessmentIn, session: WriteSession
    ) -> dict[str, Any]:
        """The office's assessment: under assessment → assessed."""
        return view(decisions.assess(session, disclosure_id, body.model_dump(exclude_none=True)))

    @router.post("/disclosures/{disclosure_id}/decision", name="decide_ip_disclosure")
    def decide(disclosure_id: RecordId, body: DecisionIn, session: WriteSession) -> dict[str, Any]:
        """The decision: assessed → decided; filing or keeping secret creates the IP asset."""
        return view(decisions.decide(session, disclosure_id, body.model_dump(exclude_none=True)))

    return router


__all__ = ["build_router"]

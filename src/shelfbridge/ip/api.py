"""JSON API of the IP ledger under ``/api/v1/ip``: assets and their lifecycle, deals, income,
reward policies, distributions and the contributors' statements.

Every route is for signed-in callers; the services decide the rest (the owner's officers and
admins manage the ledger, a contributor reads their own statement, anyone else gets 404).

The request models of assets, policies and the deadline query state, and check first, every
rule that JSON Schema can express (vocabularies, lengths, the forms of codes, amounts and
days, id ranges); the services then check what a schema cannot, as their descriptions say:
that a referenced record exists, the caller's right to act for an organisation, rules between
fields and the legal floors. Every problem is named in the caller's language."""
# No "from __future__ import annotations": FastAPI reads the annotations at runtime.

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from shelfbridge.accounts import policy
from shelfbridge.core.errors import RuleViolation
from shelfbridge.ip import deadlines, office_actions, repository, rules, service, views
from shelfbridge.ip import distribution as rewards
from shelfbridge.ip.inputs import FIRST_DAY, LAST_DAY, MAX_WEIGHT
from shelfbridge.ip.models import ASSET_KINDS, ASSET_STATUSES, FEE_REDUCTIONS
from shelfbridge.registry.schemas import EXTERNAL_ID, FILLED, NO_NUL
from shelfbridge.web.deps import MAX_ID, PROBLEM_RESPONSES, ReadSession, RecordId, WriteSession

ROUTES = {
    "list_ip_assets": policy.SIGNED_IN,
    "create_ip_asset": policy.SIGNED_IN,
    "get_ip_asset": policy.SIGNED_IN,
    "transition_ip_asset": policy.SIGNED_IN,
    "set_ip_asset_fee_reduction": policy.SIGNED_IN,
    "create_ip_deal": policy.SIGNED_IN,
    "get_ip_deal": policy.SIGNED_IN,
    "sign_ip_deal": policy.SIGNED_IN,
    "register_ip_deal": policy.SIGNED_IN,
    "record_ip_income": policy.SIGNED_IN,
    "get_ip_income": policy.SIGNED_IN,
    "distribute_ip_income": policy.SIGNED_IN,
    "get_ip_distribution": policy.SIGNED_IN,
    "approve_ip_distribution": policy.SIGNED_IN,
    "pay_ip_distribution": policy.SIGNED_IN,
    "create_ip_policy": policy.SIGNED_IN,
    "get_my_ip_statement": policy.SIGNED_IN,
    "get_ip_statement": policy.SIGNED_IN,
    "list_ip_deadlines": policy.SIGNED_IN,
    "create_ip_office_action": policy.SIGNED_IN,
    "respond_ip_office_action": policy.SIGNED_IN,
    "extend_ip_office_action": policy.SIGNED_IN,
}


# ---------------------------------------------------------------- the shapes of requests
def _one_of(choices: Iterable[str]) -> str:
    return "^(" + "|".join(re.escape(choice) for choice in choices) + ")$"


def _numbers_up_to(most: int) -> str:
    """A regular expression for the whole numbers 1 to ``most``, without leading zeros."""
    digits = str(most)
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for position, digit in enumerate(digits):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            rest = len(digits) - position - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            options.append(f"{digits[:position]}[{lowest}-{int(digit) - 1}]{tail}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


# Days from FIRST_DAY to LAST_DAY (1900 to 2999): deadlines are computed years ahead of them.
DAY_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}$"
# A positive number with at most four decimals, at most MAX_WEIGHT (100000000).
WEIGHT_PATTERN = (
    r"^0*(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,4})?"
    r"|\.(?:[1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9])"
    r"|100000000(?:\.0{1,4})?)$"
)
PERCENT_PATTERN = r"^(?:[0-9]{1,2}(?:\.[0-9]{1,2})?|100(?:\.0{1,2})?)$"
JURISDICTION_PATTERN = r"^(CN|[0-9]{6})$"
# 90d, 12w, 6m, 1y or a number of days: at most deadlines.MAX_WINDOW_DAYS days ahead.
_WINDOW = deadlines.MAX_WINDOW_DAYS
WINDOW_PATTERN = (
    f"^(?:{_numbers_up_to(_WINDOW)}d?|{_numbers_up_to(_WINDOW // 7)}w"
    f"|{_numbers_up_to(_WINDOW // 31)}m|{_numbers_up_to(_WINDOW // 366)}y)$"
)

Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY, json_schema_extra={"pattern": DAY_PATTERN})]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
AssetKind = Annotated[
    str,
    StringConstraints(pattern=_one_of(ASSET_KINDS)),
    WithJsonSchema({"type": "string", "enum": list(ASSET_KINDS)}),
]
AssetStatus = Annotated[
    str,
    StringConstraints(pattern=_one_of(ASSET_STATUSES)),
    WithJsonSchema({"type": "string", "enum": list(ASSET_STATUSES)}),
]
FeeReduction = Annotated[
    str,
    StringConstraints(pattern=_one_of(FEE_REDUCTIONS)),
    WithJsonSchema({"type": "string", "enum": list(FEE_REDUCTIONS)}),
]
FEE_REDUCTION = (
    "The fee reduction (费减) the patent office approved for this patent: none, sole (one "
    "owner) or joint (joint owners, each qualifying); the annual fees it expects follow"
)
UnitType = Annotated[
    str,
    StringConstraints(pattern=_one_of(rules.UNIT_TYPES)),
    WithJsonSchema({"type": "string", "enum": list(rules.UNIT_TYPES)}),
]
Weight = (
    Annotated[str, StringConstraints(max_length=30, pattern=WEIGHT_PATTERN)]
    | Annotated[int, Field(ge=1, le=int(MAX_WEIGHT))]
)
OWNER = (
    "An organisation whose ledger you manage (its officers and admins); needed when you "
    "manage several."
)
JURISDICTION = (
    "CN, or a GB/T 2260 region code that the reference data knows (e.g. 110000). Default: "
    "the owner's province."
)
UNIT_TYPE = (
    "For the reward rules. Default: from the kind of the owner (needed when its kind has "
    "no default)."
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContributorIn(_Body):
    name: str | None = Field(
        None, max_length=100, pattern=FILLED, description="Default: the person's name"
    )
    weight: Weight = Field(
        description='A positive number with at most four decimals, up to 100000000: "2.5" or 3'
    )
    main: bool = Field(False, strict=True)
    person_id: Id | None = Field(
        None,
        description="The contributor's person: one that exists in the registry. A name or a "
        "person appears once in an asset.",
    )


class AssetIn(_Body):
    owner_org_id: Id | None = Field(None, description=OWNER)
    kind: AssetKind
    title: str = Field(max_length=500, pattern=FILLED)
    result_id: Id | None = Field(None, description="An existing result of the same owner")
    application_number: str | None = Field(None, max_length=60, pattern=NO_NUL)
    filed_on: Day | None = None
    granted_on: Day | None = Field(None, description="Needed when the status is granted")
    priority_on: Day | None = Field(
        None, description="The earliest priority claimed: not after the filing days"
    )
    pct_application_number: str | None = Field(
        None,
        max_length=60,
        pattern=NO_NUL,
        description="An international application; given together with its day",
    )
    pct_filed_on: Day | None = Field(
        None, description="Its international filing day; given together with its number"
    )
    status: AssetStatus | None = Field(
        None,
        description="Initial status: filed (default) or granted; a technical secret starts "
        "(and defaults to) maintained",
    )
    jurisdiction: str | None = Field(None, pattern=JURISDICTION_PATTERN, description=JURISDICTION)
    unit_type: UnitType | None = Field(None, description=UNIT_TYPE)
    fee_reduction: FeeReduction | None = Field(None, description=FEE_REDUCTION + " (default none)")
    external_id: str | None = Field(
        None, pattern=EXTERNAL_ID, description="Unique among assets; generated when left out."
    )
    contributors: list[ContributorIn] = Field(
        min_length=1, max_length=service.MAX_CONTRIBUTORS, description="With their weights"
    )


class TransitionIn(_Body):
    status: str = Field(description="One of: " + ", ".join(ASSET_STATUSES))
    on: Day | None = Field(None, description="The day of the step (default: today)")


class FeeReductionIn(_Body):
    fee_reduction: FeeReduction = Field(description=FEE_REDUCTION)


class DealIn(_Body):
    deal_type: str | None = Field(None, description="assignment, licence, equity, paid-sharing")
    contract_type: str | None = Field(
        None, description="development, transfer, licensing, consulting, service"
    )
    counterparty_name: str | None = None
    counterparty_org_id: Id | None = None
    licence_scope: str | None = Field(None, description="exclusive, sole, non-exclusive")
    term_start: Day | None = None
    term_end: Day | None = None
    territory: str | None = None
    field_of_use: str | None = None
    price: str | None = Field(None, description='Yuan, e.g. "1000000.00"')
    equity_shares: int | None = None
    payment_mode: str | None = None
    price_mode: str | None = Field(None, description="negotiated, listing, auction")
    posting_start: Day | None = None
    posting_end: Day | None = None
    external_id: str | None = None


class SignIn(_Body):
    signed_on: Day
    contract_number: str | None = None


class RegisterIn(_Body):
    registered_on: Day
    registration_number: str


class DeductionIn(_Body):
    kind: str | None = Field(None, description="taxes, maintenance, direct-costs, …")
    amount: str | None = None
    note: str | None = None


class IncomeIn(_Body):
    received_on: Day | None = None
    amount: str | None = Field(None, description="Yuan received (not for equity deals)")
    shares: int | None = Field(None, description="Shares received (equity deals only)")
    deductions: list[DeductionIn] | None = None
    note: str | None = None
    external_id: str | None = None


class OfficeActionIn(_Body):
    kind: str | None = Field(
        None,
        description="first-examination, examination, correction, loss-of-rights (a notice of "
        "loss of rights: restoration may be requested within 2 months) or other",
    )
    issued_on: Day | None = Field(None, description="The day the office sent the notice")
    delivery: str | None = Field(
        None,
        description="How it reached you: electronic (the default), post (presumed received 15 "
        "days after it was sent), hand or announcement (served 1 month after it); "
        "Implementing Rules Art. 4",
    )
    received_on: Day | None = Field(
        None, description="The day you received it, when you can show it (default: as presumed)"
    )
    due_on: Day | None = Field(
        None,
        description="As on the notice (default: the usual period from the day it was received)",
    )
    reference: str | None = None
    note: str | None = None


class ExtendIn(_Body):
    months: int | None = Field(
        None,
        description="Months to extend the period by: at most the rules' longest extension "
        "(2 months, unconfirmed); a period the office designated, once, before it ends "
        "(Implementing Rules Art. 6(4))",
    )
    requested_on: Day | None = Field(None, description="Default: today")


class RespondIn(_Body):
    responded_on: Day | None = Field(None, description="Default: today")


def _percent(measure: str) -> Any:
    return Field(
        None,
        pattern=PERCENT_PATTERN,
        description=f'Percent for the {measure}, e.g. "70" or "62.5". At least one of the '
        "three percentages is needed; each must meet the floors that bind the unit on that "
        "day (a refusal cites the article).",
    )


class PolicyIn(_Body):
    owner_org_id: Id | None = Field(None, description=OWNER)
    title: str = Field(max_length=300, pattern=FILLED)
    effective_from: Day
    jurisdiction: str | None = Field(None, pattern=JURISDICTION_PATTERN, description=JURISDICTION)
    unit_type: UnitType | None = Field(None, description=UNIT_TYPE)
    net_income_percent: str | None = _percent("contributors' share of net transfer income")
    equity_percent: str | None = _percent("contributors' share of the equity formed")
    main_contributors_percent: str | None = _percent("main contributors' share of the reward")


def _raw(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


def _asset(record: Any) -> dict[str, Any]:
    return views.asset(record, weights=service.may_manage(record.owner_org_id))


# a route dependency: refused before the body is read (ip.service.refuse_non_managers)
MANAGERS_ONLY = Depends(service.refuse_non_managers)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(prefix="/ip", tags=["ip"], responses=PROBLEM_RESPONSES)

    @router.get("/assets", name="list_ip_assets")
    def list_assets(
        session: ReadSession,
        status: Annotated[str | None, Query(max_length=20)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> list[dict[str, Any]]:
        """The assets the caller may see: their units' and those they contributed to."""
        found = repository.list_assets(session, status=status, limit=limit, offset=offset)
        return [_asset(a) for a in found]

    @router.post("/assets", status_code=201, name="create_ip_asset", dependencies=[MANAGERS_ONLY])
    def create_asset(body: AssetIn, session: WriteSession) -> dict[str, Any]:
        """A new asset of the caller's unit, with its contributors and their weights."""
        return _asset(service.create_asset(session, _raw(body)))

    @router.get("/assets/{asset_id}", name="get_ip_asset")
    def get_asset(asset_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """One asset, with the statuses it may move to next."""
        return _asset(service.get_asset(session, asset_id))

    @router.post("/assets/{asset_id}/transitions", name="transition_ip_asset")
    def transition(asset_id: RecordId, body: TransitionIn, session: WriteSession) -> dict[str, Any]:
        """Move an asset along its lifecycle (a forbidden step answers 409 with the allowed)."""
        return _asset(service.transition(session, asset_id, body.status, body.on))

    @router.post("/assets/{asset_id}/fee-reduction", name="set_ip_asset_fee_reduction")
    def set_fee_reduction(
        asset_id: RecordId, body: FeeReductionIn, session: WriteSession
    ) -> dict[str, Any]:
        """Record the fee reduction (费减) the office approved for a patent, or none."""
        return _asset(service.set_fee_reduction(session, asset_id, _raw(body)))

    @router.post("/assets/{asset_id}/deals", status_code=201, name="create_ip_deal")
    def create_deal(asset_id: RecordId, body: DealIn, session: WriteSession) -> dict[str, Any]:
        """A draft deal on an asset: assignment, licence, equity investment or paid sharing."""
        return views.deal(service.create_deal(session, asset_id, _raw(body)))

    @router.get("/deals/{deal_id}", name="get_ip_deal")
    def get_deal(deal_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """A deal and its income; the terms are for the owner's officers only."""
        found = views.deal(service.get_deal(session, deal_id))
        found["income"] = [views.income(i) for i in repository.income_of_deal(session, deal_id)]
        return found

    @router.post("/deals/{deal_id}/sign", name="sign_ip_deal")
    def sign(deal_id: RecordId, body: SignIn, session: WriteSession) -> dict[str, Any]:
        """draft → signed."""
        return views.deal(service.sign_deal(session, deal_id, body.signed_on, body.contract_number))

    @router.post("/deals/{deal_id}/register", name="register_ip_deal")
    def register(deal_id: RecordId, body: RegisterIn, session: WriteSession) -> dict[str, Any]:
        """signed → registered with a technology-contract registration office."""
        return views.deal(
            service.register_deal(session, deal_id, body.registered_on, body.registration_number)
        )

    @router.post("/deals/{deal_id}/income", status_code=201, name="record_ip_income")
    def record_income(deal_id: RecordId, body: IncomeIn, session: WriteSession) -> dict[str, Any]:
        """Money (or shares) received under a signed deal, with its deductions."""
        raw = _raw(body)
        if body.received_on is not None:
            raw["received_on"] = body.received_on.isoformat()
        return views.income(service.record_income(session, deal_id, raw))

    @router.get("/income/{income_id}", name="get_ip_income")
    def get_income(income_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """An income record, its deductions and its distribution, if any."""
        found = views.income(service.get_income(session, income_id))
        done = repository.distributions_of(session, [income_id]).get(income_id)
        found["distribution"] = views.distribution(done) if done else None
        return found

    @router.post("/income/{income_id}/distribution", status_code=201, name="distribute_ip_income")
    def distribute(income_id: RecordId, request: Request, session: WriteSession) -> dict[str, Any]:
        """Request the distribution of an income record; a second request answers 409."""
        threshold = request.app.state.settings.reward_second_approval_above
        return views.distribution(
            rewards.distribute(session, income_id, second_approval_above=threshold)
        )

    @router.get("/distributions/{distribution_id}", name="get_ip_distribution")
    def get_distribution(distribution_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """A distribution, its lines and the rules it applied, with their sources."""
        return views.distribution(rewards.get_distribution(session, distribution_id))

    @router.post("/distributions/{distribution_id}/approve", name="approve_ip_distribution")
    def approve(
        distribution_id: RecordId, session: WriteSession, _body: Annotated[Any, Body()] = None
    ) -> dict[str, Any]:
        """requested → approved (by someone other than the requester above the threshold)."""
        return views.distribution(rewards.approve(session, distribution_id))

    @router.post("/distributions/{distribution_id}/pay", name="pay_ip_distribution")
    def pay(
        distribution_id: RecordId, session: WriteSession, _body: Annotated[Any, Body()] = None
    ) -> dict[str, Any]:
        """approved → paid, once."""
        return views.distribution(rewards.mark_paid(session, distribution_id))

    @router.post(
        "/policies", status_code=201, name="create_ip_policy", dependencies=[MANAGERS_ONLY]
    )
    def create_policy(body: PolicyIn, session: WriteSession) -> dict[str, Any]:
        """A unit's own reward rule; refused (422, citing the article) below a binding floor."""
        raw = _raw(body)
        raw["effective_from"] = body.effective_from.isoformat()
        try:
            created = service.set_policy(session, raw)
        except RuleViolation as refused:
            # The floors are per measure; the body names each measure by its own field.
            refused.problems = [
                replace(p, field=service.POLICY_FIELDS.get(p.field, p.field))
                for p in refused.problems
            ]
            raise
        return views.policy(created)

    @router.get("/statement", name="get_my_ip_statement")
    def my_statement(session: ReadSession) -> dict[str, Any]:
        """The caller's own statement: every income, deduction, rule and payout of their
        inventions (404 when the account is not linked to a person)."""
        return views.statement(rewards.statement(session))

    @router.get("/statement/{person_id}", name="get_ip_statement")
    def statement(person_id: RecordId, session: ReadSession) -> dict[str, Any]:
        """A contributor's statement, for the owner's officers (only their units' assets)."""
        return views.statement(rewards.statement(session, person_id))

    @router.get("/deadlines", name="list_ip_deadlines", dependencies=[MANAGERS_ONLY])
    def list_deadlines(
        session: ReadSession,
        within: Annotated[
            str,
            Query(
                max_length=10,
                pattern=WINDOW_PATTERN,
                description=f"How far ahead: 90d, 12w, 6m, 1y or a number of days, at most "
                f"{deadlines.MAX_WINDOW_DAYS} days",
            ),
        ] = "90d",
        start: Annotated[Day | None, Query(alias="from", description="Default: today")] = None,
        owner_org_id: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="Only this owner's assets")
        ] = None,
    ) -> list[dict[str, Any]]:
        """Upcoming deadlines of the assets the caller's units own (officers and admins)."""
        days = deadlines.parse_window(within)
        found = deadlines.upcoming(session, start or date.today(), days, owner_org_id=owner_org_id)
        return [deadlines.as_dict(d) for d in found]

    @router.post(
        "/assets/{asset_id}/office-actions", status_code=201, name="create_ip_office_action"
    )
    def create_office_action(
        asset_id: RecordId, body: OfficeActionIn, session: WriteSession
    ) -> dict[str, Any]:
        """A patent-office notice on an asset, to be answered by a day."""
        return views.office_action(office_actions.add_office_action(session, asset_id, _raw(body)))

    @router.post("/office-actions/{action_id}/respond", name="respond_ip_office_action")
    def respond_office_action(
        action_id: RecordId, body: RespondIn, session: WriteSession
    ) -> dict[str, Any]:
        """Mark a notice as answered (once)."""
        on = body.responded_on or date.today()
        return views.office_action(office_actions.respond_office_action(session, action_id, on))

    @router.post("/office-actions/{action_id}/extend", name="extend_ip_office_action")
    def extend_office_action(
        action_id: RecordId, body: ExtendIn, session: WriteSession
    ) -> dict[str, Any]:
        """Record a request to extend a notice's period (once, before it ends); the answer
        names the fee."""
        extended = office_actions.extend_office_action(session, action_id, _raw(body))
        return views.office_action(extended)

    # Invention disclosures (ip/disclosure_api.py), imported here because they reuse Day.
    from shelfbridge.ip.disclosure_api import build_router as disclosure_routes

    router.include_router(disclosure_routes())
    # A unit's reward policies, read (ip/policy_api.py); creating one is above.
    from shelfbridge.ip.policy_api import build_router as policy_routes

    router.include_router(policy_routes())
    return router


__all__ = ["build_router"]

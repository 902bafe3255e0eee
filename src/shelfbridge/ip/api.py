"""JSON API of the IP ledger under ``/api/v1/ip``: assets and their lifecycle, deals, income,
reward policies, distributions and the contributors' statements.

Every route is for signed-in callers; the services decide the rest (the owner's officers and
admins manage the ledger, a contributor reads their own statement, anyone else gets 404).
Bodies are checked by the services, which name every problem in the caller's language."""
# No "from __future__ import annotations": FastAPI reads the annotations at runtime.

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shelfbridge.accounts import policy
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import PermissionDenied
from shelfbridge.ip import deadlines, repository, service, views
from shelfbridge.ip import distribution as rewards
from shelfbridge.ip.models import ASSET_STATUSES
from shelfbridge.web.deps import PROBLEM_RESPONSES, ReadSession, WriteSession

ROUTES = {
    "list_ip_assets": policy.SIGNED_IN,
    "create_ip_asset": policy.SIGNED_IN,
    "get_ip_asset": policy.SIGNED_IN,
    "transition_ip_asset": policy.SIGNED_IN,
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
}
Ident = Annotated[int, Path(ge=1, le=2**63 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContributorIn(_Body):
    name: str | None = None
    weight: str | int | None = Field(None, description='A positive number, e.g. "3"')
    main: bool = False
    person_id: int | None = Field(None, description="The contributor's person in the registry")


class AssetIn(_Body):
    owner_org_id: int | None = Field(None, description="Needed when the caller manages several")
    kind: str | None = Field(None, description="invention-patent, utility-model, design, …")
    title: str | None = None
    result_id: int | None = None
    application_number: str | None = None
    filed_on: date | None = None
    granted_on: date | None = None
    priority_on: date | None = Field(None, description="The earliest priority claimed")
    pct_application_number: str | None = Field(None, description="An international application")
    pct_filed_on: date | None = Field(None, description="Its international filing day")
    status: str | None = Field(None, description="Initial status: filed (default) or granted")
    jurisdiction: str | None = Field(None, description="CN or a GB/T 2260 code")
    unit_type: str | None = Field(None, description="state-university, private-enterprise, …")
    external_id: str | None = None
    contributors: list[ContributorIn] | None = None


class TransitionIn(_Body):
    status: str = Field(description="One of: " + ", ".join(ASSET_STATUSES))
    on: date | None = Field(None, description="The day of the step (default: today)")


class DealIn(_Body):
    deal_type: str | None = Field(None, description="assignment, licence, equity, paid-sharing")
    contract_type: str | None = Field(
        None, description="development, transfer, licensing, consulting, service"
    )
    counterparty_name: str | None = None
    counterparty_org_id: int | None = None
    licence_scope: str | None = Field(None, description="exclusive, sole, non-exclusive")
    term_start: date | None = None
    term_end: date | None = None
    territory: str | None = None
    field_of_use: str | None = None
    price: str | None = Field(None, description='Yuan, e.g. "1000000.00"')
    equity_shares: int | None = None
    payment_mode: str | None = None
    price_mode: str | None = Field(None, description="negotiated, listing, auction")
    posting_start: date | None = None
    posting_end: date | None = None
    external_id: str | None = None


class SignIn(_Body):
    signed_on: date
    contract_number: str | None = None


class RegisterIn(_Body):
    registered_on: date
    registration_number: str


class DeductionIn(_Body):
    kind: str | None = Field(None, description="taxes, maintenance, direct-costs, …")
    amount: str | None = None
    note: str | None = None


class IncomeIn(_Body):
    received_on: date | None = None
    amount: str | None = Field(None, description="Yuan received (not for equity deals)")
    shares: int | None = Field(None, description="Shares received (equity deals only)")
    deductions: list[DeductionIn] | None = None
    note: str | None = None
    external_id: str | None = None


class OfficeActionIn(_Body):
    kind: str | None = Field(
        None, description="first-examination, examination, correction or other"
    )
    issued_on: date | None = None
    due_on: date | None = Field(None, description="As on the notice (default: the usual period)")
    reference: str | None = None
    note: str | None = None


class RespondIn(_Body):
    responded_on: date | None = Field(None, description="Default: today")


class PolicyIn(_Body):
    owner_org_id: int | None = None
    title: str | None = None
    effective_from: date | None = None
    jurisdiction: str | None = None
    unit_type: str | None = None
    net_income_percent: str | None = None
    equity_percent: str | None = None
    main_contributors_percent: str | None = None


def _manager() -> None:
    """Refused before the body is read: a caller who manages no ledger learns nothing more."""
    actor = current_actor.get()
    if not actor.is_unrestricted and not repository.managed_orgs(actor):
        raise PermissionDenied(service.NOT_MANAGER)


def _raw(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


def _asset(record: Any) -> dict[str, Any]:
    return views.asset(record, weights=service.may_manage(record.owner_org_id))


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

    @router.post(
        "/assets", status_code=201, name="create_ip_asset", dependencies=[Depends(_manager)]
    )
    def create_asset(body: AssetIn, session: WriteSession) -> dict[str, Any]:
        """A new asset of the caller's unit, with its contributors and their weights."""
        return _asset(service.create_asset(session, _raw(body)))

    @router.get("/assets/{asset_id}", name="get_ip_asset")
    def get_asset(asset_id: Ident, session: ReadSession) -> dict[str, Any]:
        """One asset, with the statuses it may move to next."""
        return _asset(service.get_asset(session, asset_id))

    @router.post("/assets/{asset_id}/transitions", name="transition_ip_asset")
    def transition(asset_id: Ident, body: TransitionIn, session: WriteSession) -> dict[str, Any]:
        """Move an asset along its lifecycle (a forbidden step answers 409 with the allowed)."""
        return _asset(service.transition(session, asset_id, body.status, body.on))

    @router.post("/assets/{asset_id}/deals", status_code=201, name="create_ip_deal")
    def create_deal(asset_id: Ident, body: DealIn, session: WriteSession) -> dict[str, Any]:
        """A draft deal on an asset: assignment, licence, equity investment or paid sharing."""
        return views.deal(service.create_deal(session, asset_id, _raw(body)))

    @router.get("/deals/{deal_id}", name="get_ip_deal")
    def get_deal(deal_id: Ident, session: ReadSession) -> dict[str, Any]:
        """A deal and its income; the terms are for the owner's officers only."""
        found = views.deal(service.get_deal(session, deal_id))
        found["income"] = [views.income(i) for i in repository.income_of_deal(session, deal_id)]
        return found

    @router.post("/deals/{deal_id}/sign", name="sign_ip_deal")
    def sign(deal_id: Ident, body: SignIn, session: WriteSession) -> dict[str, Any]:
        """draft → signed."""
        return views.deal(service.sign_deal(session, deal_id, body.signed_on, body.contract_number))

    @router.post("/deals/{deal_id}/register", name="register_ip_deal")
    def register(deal_id: Ident, body: RegisterIn, session: WriteSession) -> dict[str, Any]:
        """signed → registered with a technology-contract registration office."""
        return views.deal(
            service.register_deal(session, deal_id, body.registered_on, body.registration_number)
        )

    @router.post("/deals/{deal_id}/income", status_code=201, name="record_ip_income")
    def record_income(deal_id: Ident, body: IncomeIn, session: WriteSession) -> dict[str, Any]:
        """Money (or shares) received under a signed deal, with its deductions."""
        raw = _raw(body)
        if body.received_on is not None:
            raw["received_on"] = body.received_on.isoformat()
        return views.income(service.record_income(session, deal_id, raw))

    @router.get("/income/{income_id}", name="get_ip_income")
    def get_income(income_id: Ident, session: ReadSession) -> dict[str, Any]:
        """An income record, its deductions and its distribution, if any."""
        found = views.income(service.get_income(session, income_id))
        done = repository.distributions_of(session, [income_id]).get(income_id)
        found["distribution"] = views.distribution(done) if done else None
        return found

    @router.post("/income/{income_id}/distribution", status_code=201, name="distribute_ip_income")
    def distribute(income_id: Ident, request: Request, session: WriteSession) -> dict[str, Any]:
        """Request the distribution of an income record; a second request answers 409."""
        threshold = request.app.state.settings.reward_second_approval_above
        return views.distribution(
            rewards.distribute(session, income_id, second_approval_above=threshold)
        )

    @router.get("/distributions/{distribution_id}", name="get_ip_distribution")
    def get_distribution(distribution_id: Ident, session: ReadSession) -> dict[str, Any]:
        """A distribution, its lines and the rules it applied, with their sources."""
        return views.distribution(rewards.get_distribution(session, distribution_id))

    @router.post("/distributions/{distribution_id}/approve", name="approve_ip_distribution")
    def approve(
        distribution_id: Ident, session: WriteSession, _body: Annotated[Any, Body()] = None
    ) -> dict[str, Any]:
        """requested → approved (by someone other than the requester above the threshold)."""
        return views.distribution(rewards.approve(session, distribution_id))

    @router.post("/distributions/{distribution_id}/pay", name="pay_ip_distribution")
    def pay(
        distribution_id: Ident, session: WriteSession, _body: Annotated[Any, Body()] = None
    ) -> dict[str, Any]:
        """approved → paid, once."""
        return views.distribution(rewards.mark_paid(session, distribution_id))

    @router.post(
        "/policies", status_code=201, name="create_ip_policy", dependencies=[Depends(_manager)]
    )
    def create_policy(body: PolicyIn, session: WriteSession) -> dict[str, Any]:
        """A unit's own reward rule; refused (422, citing the article) below a binding floor."""
        raw = _raw(body)
        if body.effective_from is not None:
            raw["effective_from"] = body.effective_from.isoformat()
        return views.policy(service.set_policy(session, raw))

    @router.get("/statement", name="get_my_ip_statement")
    def my_statement(session: ReadSession) -> dict[str, Any]:
        """The caller's own statement: every income, deduction, rule and payout of their
        inventions (404 when the account is not linked to a person)."""
        return views.statement(rewards.statement(session))

    @router.get("/statement/{person_id}", name="get_ip_statement")
    def statement(person_id: Ident, session: ReadSession) -> dict[str, Any]:
        """A contributor's statement, for the owner's officers (only their units' assets)."""
        return views.statement(rewards.statement(session, person_id))

    @router.get("/deadlines", name="list_ip_deadlines", dependencies=[Depends(_manager)])
    def list_deadlines(
        session: ReadSession,
        within: Annotated[str, Query(max_length=10, description="90d, 12w, 6m")] = "90d",
        start: Annotated[date | None, Query(alias="from")] = None,
        owner_org_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    ) -> list[dict[str, Any]]:
        """Upcoming deadlines of the assets the caller's units own (officers and admins)."""
        days = deadlines.parse_window(within)
        found = deadlines.upcoming(session, start or date.today(), days, owner_org_id=owner_org_id)
        return [deadlines.as_dict(d) for d in found]

    @router.post(
        "/assets/{asset_id}/office-actions", status_code=201, name="create_ip_office_action"
    )
    def create_office_action(
        asset_id: Ident, body: OfficeActionIn, session: WriteSession
    ) -> dict[str, Any]:
        """A patent-office notice on an asset, to be answered by a day."""
        return views.office_action(deadlines.add_office_action(session, asset_id, _raw(body)))

    @router.post("/office-actions/{action_id}/respond", name="respond_ip_office_action")
    def respond_office_action(
        action_id: Ident, body: RespondIn, session: WriteSession
    ) -> dict[str, Any]:
        """Mark a notice as answered (once)."""
        on = body.responded_on or date.today()
        return views.office_action(deadlines.respond_office_action(session, action_id, on))

    return router


__all__ = ["build_router"]

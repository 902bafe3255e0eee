"""The rules of the IP ledger: assets and their lifecycle, deals, income and deductions, and a
unit's own reward policy. Never commits (the request or command does, once).

Distributions, approvals, payments, the ledger check and the contributors' statements are in
:mod:`shelfbridge.ip.distribution`.

Who may do what: only the owning unit's officers and admins (``ip.manage``, ``accounts/roles``)
and the platform (admins, the CLI) change anything here. A record the caller may not see is a
404, exactly as one that does not exist (``repository``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.core.errors import (
    BadRequest,
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_, translate
from shelfbridge.core.models import new_external_id
from shelfbridge.ip import repository, rules
from shelfbridge.ip.inputs import Fields
from shelfbridge.ip.models import (
    ALLOWED_CONTRACTS,
    ASSET_KINDS,
    ASSET_STATUSES,
    CONTRACT_TYPES,
    DEAL_STATUSES,
    DEAL_TYPES,
    DEALABLE_STATUSES,
    FEE_REDUCTIONS,
    INITIAL_STATUSES,
    LICENCE_SCOPES,
    PATENT_TYPE_OF,
    PAYMENT_MODES,
    PRICE_MODES,
    REWARD_MODE,
    TRANSITIONS,
    Deal,
    Deduction,
    IncomeRecord,
    IpAsset,
    IpContributor,
    RewardPolicy,
)
from shelfbridge.registry.models import Organization, Person, Result

MANAGE = repository.MANAGE
MAX_CONTRIBUTORS = 200
NOT_MANAGER = N_(
    "Only the owning unit's tech-transfer officers and organisation admins can do this."
)
#: Organisation kinds of the registry -> the unit type the rules assume when none is given.
DEFAULT_UNIT_TYPES = {
    "university": "state-university",
    "research_institute": "state-institute",
    "national_lab": "state-institute",
    "state_key_lab": "state-institute",
    "enterprise": "private-enterprise",
}


# ---------------------------------------------------------------------------- permissions
def may_manage(owner_org_id: int, actor: Actor | None = None) -> bool:
    actor = actor or current_actor.get()
    return actor.can(MANAGE, owner_org_id)


def refuse_non_managers() -> None:
    """A route dependency, refusing before the body is read: a caller who manages no ledger
    learns nothing more."""
    actor = current_actor.get()
    if not actor.is_unrestricted and not repository.managed_orgs(actor):
        raise PermissionDenied(NOT_MANAGER)


def require_manager(owner_org_id: int, actor: Actor | None = None) -> None:
    if not may_manage(owner_org_id, actor):
        raise PermissionDenied(NOT_MANAGER)


def _owner_for_new(fields: Fields, actor: Actor) -> int | None:
    """The unit a new asset or policy is for: the one named, or the caller's only one."""
    named = fields.ident("owner_org_id")
    if named is not None:
        if not actor.can(MANAGE, named):
            fields.problem(
                "owner_org_id",
                N_("You can only act for organisations in which your role allows it."),
            )
            return None
        return named
    managed = sorted(actor.orgs_with(MANAGE))
    if len(managed) == 1 and not actor.is_unrestricted:
        return managed[0]
    fields.problem("owner_org_id", N_("Name the organisation that owns it."))
    return None


# ---------------------------------------------------------------------------- assets
def get_asset(session: Session, ident: int) -> IpAsset:
    asset = repository.get_asset(session, ident)
    if asset is None:
        raise NotFound("ip_assets")
    return asset


def _managed_asset(session: Session, ident: int, *, for_update: bool = False) -> IpAsset:
    asset = repository.get_asset(session, ident)
    if asset is None:
        raise NotFound("ip_assets")
    require_manager(asset.owner_org_id)
    if for_update:
        # Locked only now: on PostgreSQL a caller who may not update the row would not even
        # find it under FOR UPDATE (row-level security), and must hear 403, not 404.
        session.refresh(asset, with_for_update=True)
    return asset


def _jurisdiction(fields: Fields, owner: Organization | None) -> str | None:
    text = fields.text("jurisdiction", max_length=6)
    if text is None and owner is not None and owner.region_code:
        # A unit is bound by its province's regulation (and the national law).
        text = owner.region_code[:2] + "0000"
    if text is None:
        text = rules.NATIONAL
    try:
        return rules.normalize_jurisdiction(text)
    except BadRequest as error:
        fields.problem("jurisdiction", error.message, **error.params)
        return None


def _unit_type(fields: Fields, owner: Organization | None) -> str | None:
    chosen = fields.choice("unit_type", rules.UNIT_TYPES)
    if chosen is None and not any(p.field == "unit_type" for p in fields.problems):
        chosen = DEFAULT_UNIT_TYPES.get(owner.kind if owner else "")
        if chosen is None:
            fields.problem("unit_type", N_("Give the unit type, for the reward rules."))
    return chosen


@dataclass(frozen=True)
class ContributorIn:
    name: str
    weight: Decimal
    main: bool
    person_id: int | None


def _contributors(session: Session, fields: Fields) -> list[ContributorIn]:
    raw = fields.raw.get("contributors")
    if raw is None or raw == "" or raw == []:
        fields.problem("contributors", N_("Give at least one contributor with a weight."))
        return []
    items = parse_contributor_lines(raw) if isinstance(raw, str) else raw
    if not isinstance(items, list) or len(items) > MAX_CONTRIBUTORS:
        fields.problem(
            "contributors",
            N_("Give between 1 and {count} contributors."),
            count=MAX_CONTRIBUTORS,
        )
        return []
    found: list[ContributorIn] = []
    for index, item in enumerate(items):
        where = f"contributors[{index}]"
        if not isinstance(item, Mapping):
            fields.problem(where, N_("Each contributor has a name and a weight."))
            continue
        person_id: int | None = None
        person_ref = item.get("person_id", item.get("person"))
        person: Person | None = None
        if person_ref not in (None, ""):
            person = find_person(session, person_ref)
            if person is None:
                fields.problem(
                    where, N_("No person “{value}” in the registry."), value=str(person_ref).strip()
                )
                continue
            person_id = person.id
        name = str(item.get("name") or (person.name if person else "")).strip()
        if not name or len(name) > 100:
            fields.problem(where, N_("Each contributor has a name of at most 100 characters."))
            continue
        weight = fields.weight(where, item.get("weight"))
        if weight is None:
            continue
        main = item.get("main")
        found.append(
            ContributorIn(name, weight, bool(main) and str(main).lower() != "false", person_id)
        )
    names = [c.name for c in found]
    people = [c.person_id for c in found if c.person_id is not None]
    if len(set(names)) != len(names) or len(set(people)) != len(people):
        fields.problem("contributors", N_("A contributor appears twice."))
    return found


def parse_contributor_lines(text: str, amount: str = "weight") -> list[dict[str, str]]:
    """The text form of a contributor list, one per line (or separated by ``;``):
    ``name:AMOUNT``, ``name:AMOUNT:main``, and optionally ``@person`` (an id or external id)
    after the name: ``张三@PER-1:60:main``. ``amount`` names the number: an asset's weight, a
    disclosure's share."""
    items = []
    normalized = text.replace("；", ";").replace("：", ":").replace("\r", "")
    for part in normalized.replace(";", "\n").split("\n"):
        part = part.strip()
        if not part:
            continue
        pieces = [piece.strip() for piece in part.split(":")]
        who = pieces[0]
        name, _sep, person = who.partition("@")
        item = {"name": name.strip(), amount: pieces[1] if len(pieces) > 1 else ""}
        if person.strip():
            item["person"] = person.strip()
        if len(pieces) > 2 and pieces[2].lower() == "main":
            item["main"] = "true"
        items.append(item)
    return items


def find_person(session: Session, reference: Any) -> Person | None:
    """A person of the registry by id or external id (an over-long number is an external id,
    never an id beyond the database's integers)."""
    text = str(reference).strip()
    if text.isdigit() and len(text) < 11:
        return session.get(Person, int(text))
    return session.scalars(select(Person).where(Person.external_id == text)).first()


def create_asset(session: Session, raw: Mapping[str, Any]) -> IpAsset:
    """A new asset of a unit, linked to a result and its contributors."""
    actor = current_actor.get()
    if not actor.is_unrestricted and not actor.orgs_with(MANAGE):
        raise PermissionDenied(NOT_MANAGER)
    fields = Fields(raw)
    owner_id = _owner_for_new(fields, actor)
    owner = session.get(Organization, owner_id) if owner_id is not None else None
    if owner_id is not None and owner is None:
        fields.problem("owner_org_id", N_("No organisation {value}."), value=owner_id)
    kind = fields.choice("kind", ASSET_KINDS, required=True)
    title = fields.text("title", required=True, max_length=500)
    result_id = fields.ident("result_id")
    if result_id is not None:
        result = session.get(Result, result_id)
        if result is None or result.owner_org_id != owner_id:
            fields.problem("result_id", N_("The result must exist and belong to the same owner."))
    status = fields.choice("status", ASSET_STATUSES)
    if kind is not None:
        status = status or ("maintained" if kind == "technical-secret" else "filed")
        if status not in INITIAL_STATUSES[kind]:
            fields.problem(
                "status",
                N_("A new {kind} starts as one of: {choices}."),
                kind=translate(ASSET_KINDS[kind]),
                choices=", ".join(translate(ASSET_STATUSES[s]) for s in INITIAL_STATUSES[kind]),
            )
    filed_on = fields.day("filed_on")
    granted_on = fields.day("granted_on")
    priority_on = fields.day("priority_on")
    pct_filed_on = fields.day("pct_filed_on")
    pct_number = fields.text("pct_application_number", max_length=60)
    if priority_on and filed_on and priority_on > filed_on:
        fields.problem("priority_on", N_("A priority day comes before the filing day."))
    if priority_on and pct_filed_on and priority_on > pct_filed_on:
        fields.problem("pct_filed_on", N_("A priority day comes before the filing day."))
    if (pct_number is None) != (pct_filed_on is None):
        fields.problem(
            "pct_filed_on", N_("Give both the international application's number and day.")
        )
    if status == "granted" and granted_on is None:
        fields.problem("granted_on", N_("Give the day the right was granted."))
    jurisdiction = _jurisdiction(fields, owner)
    unit_type = _unit_type(fields, owner)
    fee_reduction = _fee_reduction(fields, kind)
    contributors = _contributors(session, fields)
    external_id = fields.text("external_id", max_length=100)
    number = fields.text("application_number", max_length=60)
    fields.done()
    assert owner_id is not None and kind and title and status and jurisdiction and unit_type
    asset = IpAsset(
        external_id=external_id or new_external_id("IP"),
        owner_org_id=owner_id,
        result_id=result_id,
        kind=kind,
        title=title,
        application_number=number,
        filed_on=filed_on,
        granted_on=granted_on,
        priority_on=priority_on,
        pct_application_number=pct_number,
        pct_filed_on=pct_filed_on,
        jurisdiction=jurisdiction,
        unit_type=unit_type,
        fee_reduction=fee_reduction or "none",
        status=status,
        status_on=fields.day("status_on") or granted_on or filed_on or date.today(),
        contributors=[
            IpContributor(
                owner_org_id=owner_id,
                position=position,
                name=c.name,
                person_id=c.person_id,
                weight=c.weight,
                main=c.main,
            )
            for position, c in enumerate(contributors)
        ],
    )
    session.add(asset)
    _flush_unique(session, "external_id", asset.external_id)
    return asset


def _flush_unique(session: Session, field: str, value: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            [FieldProblem(field, "“{value}” is already used by another record.", {"value": value})]
        ) from None


def allowed_transitions(asset: IpAsset) -> list[str]:
    """The statuses this asset may move to next (the lifecycle data of ``models``)."""
    return [target for target, kinds in TRANSITIONS[asset.status].items() if asset.kind in kinds]


def _fee_reduction(fields: Fields, kind: str | None, *, required: bool = False) -> str | None:
    chosen = fields.choice("fee_reduction", FEE_REDUCTIONS, required=required)
    if chosen not in (None, "none") and kind is not None and kind not in PATENT_TYPE_OF:
        fields.problem(
            "fee_reduction",
            N_("A fee reduction is approved for patents only, not for a {kind}."),
            kind=translate(ASSET_KINDS[kind]),
        )
    return chosen


def set_fee_reduction(session: Session, ident: int, raw: Mapping[str, Any]) -> IpAsset:
    """Record the fee reduction (费减) the office approved for an asset, or that it has none;
    the annual fees it shows and expects follow (``ip/deadline_rules.py``)."""
    asset = _managed_asset(session, ident, for_update=True)
    fields = Fields(raw)
    chosen = _fee_reduction(fields, asset.kind, required=True)
    fields.done()
    assert chosen is not None
    asset.fee_reduction = chosen
    session.flush()
    return asset


def transition(session: Session, ident: int, to_status: str, on: date | None = None) -> IpAsset:
    """Move an asset along its lifecycle; a step the lifecycle does not allow is refused with
    the steps that are."""
    asset = _managed_asset(session, ident, for_update=True)
    if to_status not in ASSET_STATUSES:
        raise BadRequest(
            N_("“{value}” is not one of: {choices}."),
            value=to_status,
            choices=", ".join(ASSET_STATUSES),
        )
    allowed = allowed_transitions(asset)
    if to_status not in allowed:
        raise Conflict(
            N_("A {kind} that is {current} cannot become {target}; it can become: {allowed}."),
            kind=translate(ASSET_KINDS[asset.kind]),
            current=translate(ASSET_STATUSES[asset.status]),
            target=translate(ASSET_STATUSES[to_status]),
            allowed=", ".join(translate(ASSET_STATUSES[s]) for s in allowed)
            or translate(N_("nothing (this is a final status)")),
        )
    day = on or date.today()
    if day < asset.status_on:
        raise BadRequest(
            N_("The day of a step cannot be before the previous step ({day})."),
            day=asset.status_on.isoformat(),
        )
    asset.status = to_status
    asset.status_on = day
    if to_status == "granted" and asset.granted_on is None:
        asset.granted_on = day
    session.flush()
    return asset


# ---------------------------------------------------------------------------- deals
def get_deal(session: Session, ident: int) -> Deal:
    deal = repository.get_deal(session, ident)
    if deal is None:
        raise NotFound("ip_deals")
    return deal


def is_state_unit(unit_type: str) -> bool:
    return unit_type.startswith("state-")


ART_18 = N_(
    "A state unit that sets the price by negotiation must first post the result and the price "
    "publicly inside the unit (law on promoting the transformation of S&T achievements, "
    "Art. 18): give the posting period."
)


def create_deal(session: Session, asset_id: int, raw: Mapping[str, Any]) -> Deal:
    """A draft deal on one of the unit's assets, with the fields contract registration needs."""
    asset = _managed_asset(session, asset_id)
    if asset.status not in DEALABLE_STATUSES:
        raise Conflict(
            N_("A {status} asset cannot be the object of a new deal."),
            status=translate(ASSET_STATUSES[asset.status]),
        )
    fields = Fields(raw)
    deal_type = fields.choice("deal_type", DEAL_TYPES, required=True)
    contract_type = fields.choice("contract_type", CONTRACT_TYPES)
    if deal_type is not None:
        allowed = ALLOWED_CONTRACTS[deal_type]
        contract_type = contract_type or sorted(allowed)[0]
        if contract_type not in allowed:
            fields.problem(
                "contract_type",
                N_("A {deal} is made under a {choices}."),
                deal=translate(DEAL_TYPES[deal_type]),
                choices=" / ".join(translate(CONTRACT_TYPES[c]) for c in sorted(allowed)),
            )
    counterparty_name = fields.text("counterparty_name", max_length=200)
    counterparty_id = fields.ident("counterparty_org_id")
    counterparty = session.get(Organization, counterparty_id) if counterparty_id else None
    if counterparty_id and counterparty is None:
        fields.problem("counterparty_org_id", N_("No organisation {value}."), value=counterparty_id)
    counterparty_name = counterparty_name or (counterparty.name if counterparty else None)
    if counterparty_name is None:
        fields.problem("counterparty_name", N_("Name the other party of the deal."))
    scope = fields.choice("licence_scope", LICENCE_SCOPES)
    term_start, term_end = fields.day("term_start"), fields.day("term_end")
    territory = fields.text("territory", max_length=200)
    field_of_use = fields.text("field_of_use", max_length=300)
    if deal_type == "licence":
        for name, value in (
            ("licence_scope", scope),
            ("term_start", term_start),
            ("term_end", term_end),
            ("territory", territory),
        ):
            if value is None and not any(p.field == name for p in fields.problems):
                fields.problem(name, N_("A licence needs its scope, term and territory."))
    elif scope is not None:
        fields.problem("licence_scope", N_("Only a licence has a licence scope."))
    if term_start and term_end and term_end <= term_start:
        fields.problem("term_end", N_("The term must end after it starts."))
    shares = fields.whole("equity_shares", required=deal_type == "equity")
    if deal_type != "equity" and shares is not None:
        fields.problem("equity_shares", N_("Only an equity investment forms shares."))
    price = fields.yuan("price")
    payment_mode = fields.choice("payment_mode", PAYMENT_MODES)
    price_mode = fields.choice("price_mode", PRICE_MODES, required=True)
    posting_start, posting_end = fields.day("posting_start"), fields.day("posting_end")
    if price_mode == "negotiated" and is_state_unit(asset.unit_type):
        if posting_start is None or posting_end is None:
            fields.problem("posting_end", ART_18)
        elif posting_end < posting_start:
            fields.problem("posting_end", N_("The posting period must end after it starts."))
    external_id = fields.text("external_id", max_length=100)
    fields.done()
    assert deal_type and contract_type and counterparty_name and price_mode
    deal = Deal(
        external_id=external_id or new_external_id("DEAL"),
        owner_org_id=asset.owner_org_id,
        asset_id=asset.id,
        deal_type=deal_type,
        contract_type=contract_type,
        counterparty_org_id=counterparty_id,
        counterparty_name=counterparty_name,
        licence_scope=scope,
        term_start=term_start,
        term_end=term_end,
        territory=territory,
        field_of_use=field_of_use,
        price=price,
        equity_shares=shares,
        payment_mode=payment_mode,
        price_mode=price_mode,
        posting_start=posting_start,
        posting_end=posting_end,
        status="draft",
    )
    session.add(deal)
    _flush_unique(session, "external_id", deal.external_id)
    return deal


def _managed_deal(session: Session, ident: int) -> Deal:
    deal = repository.get_deal(session, ident, for_update=True)
    if deal is None:
        raise NotFound("ip_deals")
    require_manager(deal.owner_org_id)
    return deal


def sign_deal(
    session: Session, ident: int, signed_on: date, contract_number: str | None = None
) -> Deal:
    """draft → signed. A state unit's negotiated price must have been posted first (Art. 18)."""
    deal = _managed_deal(session, ident)
    if deal.status != "draft":
        raise Conflict(
            N_("Only a draft deal can be signed; this one is {status}."),
            status=translate(DEAL_STATUSES[deal.status]),
        )
    if (
        deal.price_mode == "negotiated"
        and is_state_unit(deal.asset.unit_type)
        and (deal.posting_end is None or signed_on <= deal.posting_end)
    ):
        raise Conflict(
            N_(
                "The price was negotiated: sign only after the public posting period ends "
                "({day}) (law on promoting the transformation of S&T achievements, Art. 18)."
            ),
            day=deal.posting_end.isoformat() if deal.posting_end else "—",
        )
    deal.status = "signed"
    deal.signed_on = signed_on
    if contract_number:
        deal.contract_number = contract_number.strip()[:60]
    session.flush()
    return deal


def register_deal(
    session: Session, ident: int, registered_on: date, registration_number: str
) -> Deal:
    """signed → registered with a technology-contract registration office."""
    deal = _managed_deal(session, ident)
    if deal.status != "signed":
        raise Conflict(
            N_("Only a signed deal can be registered; this one is {status}."),
            status=translate(DEAL_STATUSES[deal.status]),
        )
    number = registration_number.strip()
    if not number:
        raise ValidationFailed(
            [FieldProblem("registration_number", N_("Give the registration number."))]
        )
    if deal.signed_on and registered_on < deal.signed_on:
        raise BadRequest(N_("A contract is registered after it is signed."))
    deal.status = "registered"
    deal.registered_on = registered_on
    deal.registration_number = number[:60]
    session.flush()
    return deal


# ---------------------------------------------------------------------------- income
def get_income(session: Session, ident: int) -> IncomeRecord:
    income = repository.get_income(session, ident)
    if income is None:
        raise NotFound("ip_income_records")
    return income


@dataclass(frozen=True)
class DeductionIn:
    kind: str
    amount: Decimal
    note: str | None


def _deductions(fields: Fields) -> list[DeductionIn]:
    raw = fields.raw.get("deductions") or []
    if isinstance(raw, Mapping):  # {"taxes": "120.00", …}, the form's shape
        raw = [{"kind": kind, "amount": amount} for kind, amount in raw.items()]
    if not isinstance(raw, list):
        fields.problem("deductions", N_("Deductions are a list of kind and amount."))
        return []
    found = []
    for index, item in enumerate(raw):
        where = f"deductions[{index}]"
        if not isinstance(item, Mapping):
            fields.problem(where, N_("Deductions are a list of kind and amount."))
            continue
        sub = Fields(item)
        kind = sub.choice("kind", rules.DEDUCTIONS, required=True)
        amount = sub.yuan("amount")
        note = sub.text("note", max_length=300)
        for problem in sub.problems:
            fields.problems.append(FieldProblem(where, problem.message, problem.params))
        if kind is not None and amount is not None and amount > 0:
            found.append(DeductionIn(kind, amount, note))
    return found


def _apply_net(income: IncomeRecord, on: date) -> None:
    """Net income under the owner's definition; each deduction learns whether it is taken."""
    totals: dict[str, Decimal] = {}
    for deduction in income.deductions:
        totals[deduction.kind] = totals.get(deduction.kind, Decimal(0)) + deduction.amount
    found = rules.net_income(income.jurisdiction, on, income.amount, totals)
    by_kind = {d.kind: d for d in found.deductions}
    for deduction in income.deductions:
        taken = by_kind[deduction.kind]
        deduction.allowed = taken.allowed
        deduction.rule_id = taken.rule.id if taken.rule else None
    income.net = found.net
    income.costs = income.amount - found.net


def record_income(session: Session, deal_id: int, raw: Mapping[str, Any]) -> IncomeRecord:
    """Money (or, for an equity deal, shares) received under a signed deal, with its
    deductions; net income follows the owner's jurisdiction (``rules.net_income``)."""
    deal = repository.get_deal(session, deal_id)
    if deal is None:
        raise NotFound("ip_deals")
    require_manager(deal.owner_org_id)
    if deal.status not in ("signed", "registered"):
        raise Conflict(N_("Income is recorded only under a signed deal."))
    fields = Fields(raw)
    received_on = fields.day("received_on", required=True)
    equity = deal.deal_type == "equity"
    shares = fields.whole("shares", required=equity)
    amount = fields.yuan("amount", required=not equity)
    if equity and amount not in (None, Decimal("0.00")):
        fields.problem("amount", N_("An equity deal is recorded in shares, not yuan."))
    if not equity and shares is not None:
        fields.problem("shares", N_("Only an equity deal is recorded in shares."))
    if amount is not None and not equity and amount <= 0:
        fields.problem("amount", N_("The amount received must be above zero."))
    deductions = _deductions(fields)
    if equity and deductions:
        fields.problem("deductions", N_("An equity deal has no deductions."))
    if received_on and deal.signed_on and received_on < deal.signed_on:
        fields.problem("received_on", N_("Income is received on or after the signing day."))
    note = fields.text("note", max_length=2000)
    external_id = fields.text("external_id", max_length=100)
    fields.done()
    assert received_on is not None
    income = IncomeRecord(
        external_id=external_id or new_external_id("INC"),
        owner_org_id=deal.owner_org_id,
        deal_id=deal.id,
        asset_id=deal.asset_id,
        mode=REWARD_MODE[deal.deal_type],
        received_on=received_on,
        amount=Decimal("0.00") if equity else amount or Decimal("0.00"),
        shares=shares if equity else None,
        jurisdiction=deal.asset.jurisdiction,
        note=note,
        deductions=[
            Deduction(position=i, kind=d.kind, amount=d.amount, allowed=False, note=d.note)
            for i, d in enumerate(deductions)
        ],
    )
    _apply_net(income, received_on)
    session.add(income)
    _flush_unique(session, "external_id", income.external_id)
    return income


def add_deduction(
    session: Session, income_id: int, kind: str, amount: str | Decimal, note: str | None = None
) -> IncomeRecord:
    """One more deduction on an income record that has not been distributed yet."""
    income = repository.get_income(session, income_id, for_update=True)
    if income is None:
        raise NotFound("ip_income_records")
    require_manager(income.owner_org_id)
    if repository.distribution_of_income(session, income.id) is not None:
        raise Conflict(N_("This income has been distributed; its deductions are final."))
    if income.shares is not None:
        raise BadRequest(N_("An equity deal has no deductions."))
    fields = Fields({"deductions": [{"kind": kind, "amount": amount, "note": note}]})
    found = _deductions(fields)
    fields.done()
    for item in found:
        income.deductions.append(
            Deduction(
                position=len(income.deductions),
                kind=item.kind,
                amount=item.amount,
                allowed=False,
                note=item.note,
            )
        )
    _apply_net(income, income.received_on)
    session.flush()
    return income


# ---------------------------------------------------------------------------- policies
POLICY_FIELDS = {
    "net_income": "net_income_percent",
    "equity": "equity_percent",
    "main_contributors": "main_contributors_percent",
}


def set_policy(session: Session, raw: Mapping[str, Any]) -> RewardPolicy:
    """A unit's own reward rule (law Art. 44), refused, citing the article, where it falls
    below a floor that binds the unit (Art. 45 ¶2 and the local rules)."""
    actor = current_actor.get()
    if not actor.is_unrestricted and not actor.orgs_with(MANAGE):
        raise PermissionDenied(NOT_MANAGER)
    fields = Fields(raw)
    owner_id = _owner_for_new(fields, actor)
    owner = session.get(Organization, owner_id) if owner_id is not None else None
    title = fields.text("title", required=True, max_length=300)
    effective_from = fields.day("effective_from", required=True)
    jurisdiction = _jurisdiction(fields, owner)
    unit_type = _unit_type(fields, owner)
    percents = {measure: fields.percent(column) for measure, column in POLICY_FIELDS.items()}
    if all(value is None for value in percents.values()) and not fields.problems:
        fields.problem("net_income_percent", N_("Give at least one percentage."))
    fields.done()
    assert owner_id and title and effective_from and jurisdiction and unit_type
    given = {measure: value for measure, value in percents.items() if value is not None}
    rules.require_policy(jurisdiction, unit_type, effective_from, given)
    policy = RewardPolicy(
        owner_org_id=owner_id,
        title=title,
        jurisdiction=jurisdiction,
        unit_type=unit_type,
        effective_from=effective_from,
        **{POLICY_FIELDS[m]: v for m, v in percents.items()},
    )
    session.add(policy)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            N_("The unit already has a policy taking effect on {day}."),
            day=effective_from.isoformat(),
        ) from None
    return policy


def policy_percents(policy: RewardPolicy) -> dict[str, Decimal]:
    return {
        measure: value
        for measure, column in POLICY_FIELDS.items()
        if (value := getattr(policy, column)) is not None
    }


def labels(codes: Iterable[str], vocabulary: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(code, translate(vocabulary[code])) for code in codes]

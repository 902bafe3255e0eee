"""The what-if reward calculator behind ``shelfbridge rewards simulate`` and ``/rewards/simulate``.

Given a case (jurisdiction, unit type, mode, date), an amount and the contributors' weights, it
finds the floors in force (:func:`shelfbridge.ip.rules.resolve`), sizes the reward pool and
splits it with the one allocation function (:func:`shelfbridge.core.money.allocate`).

- The pool is the amount times the floor of the most specific rule (or the unit's own policy
  percentage, once checked against every binding floor), **rounded up** to the fen (or to a
  whole share for equity): a floor is a minimum, so rounding never takes it below.
- Equity rewards are share counts: the amount is the number of shares the result formed.
- ``grant`` gives the statutory minimum reward for one granted patent under the Implementing
  Rules in force on the date (the grant announcement) and the day it is due.
- Contributors marked ``:main`` are checked against the main contributors' share of the total
  reward where a rule sets one (State Council 2016: 50%; Zhejiang: 70%). The rule is about
  shares, so their weights are compared with it exactly; their amounts then differ from the
  exact shares by less than a fen each (``main_contributors_minimum`` is the floor's share of
  the pool rounded half-up, for display).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shelfbridge.core.errors import BadRequest, FieldProblem, RuleViolation
from shelfbridge.core.i18n import N_, gettext, translate
from shelfbridge.core.money import FEN, MoneyError, allocate, allocate_units, parse_yuan
from shelfbridge.ip.rules import (
    CONFIDENCE,
    FORCES,
    MEASURES,
    MODES,
    POOL_MEASURE,
    UNIT_TYPES,
    Resolution,
    RewardRule,
    RuleBook,
    RuleInForce,
    add_months,
    check_percent,
    check_policy,
    jurisdiction_name,
    resolve,
)

MAX_CONTRIBUTORS = 200
MAX_SHARES = 10**15
MAIN_MARK = "main"
Amount = Decimal | int


@dataclass(frozen=True)
class Contributor:
    name: str
    weight: Decimal
    main: bool = False


@dataclass(frozen=True)
class Share:
    contributor: Contributor
    amount: Amount


def parse_contributors(text: str) -> list[Contributor]:
    """``"Li:3,Wang:1"``; a third part ``main`` marks a main contributor (``"Li:3:main"``).
    Commas, semicolons and their full-width forms separate people; ``：`` works as ``:``."""
    normalized = text.replace("，", ",").replace("；", ",").replace(";", ",").replace("：", ":")
    items = [item.strip() for item in normalized.split(",") if item.strip()]
    if not items:
        raise BadRequest(N_("Give at least one contributor as name:weight, e.g. “Li:3,Wang:1”."))
    if len(items) > MAX_CONTRIBUTORS:
        raise BadRequest(N_("At most {count} contributors."), count=MAX_CONTRIBUTORS)
    found: list[Contributor] = []
    names: set[str] = set()
    for item in items:
        parts = [part.strip() for part in item.split(":")]
        main = len(parts) == 3 and parts[2].lower() == MAIN_MARK
        if len(parts) not in (2, 3) or not parts[0] or (len(parts) == 3 and not main):
            raise BadRequest(
                N_("“{item}” is not name:weight or name:weight:main (for example Li:3)."),
                item=item,
            )
        name, raw = parts[0], parts[1]
        try:
            weight = Decimal(raw)
        except InvalidOperation:
            weight = Decimal(0)
        if not weight.is_finite() or weight <= 0 or weight > Decimal(10**12):
            raise BadRequest(
                N_("The weight of {name} must be a positive number; “{value}” is not."),
                name=name,
                value=raw,
            )
        if name in names:
            raise BadRequest(N_("{name} appears twice among the contributors."), name=name)
        names.add(name)
        found.append(Contributor(name, weight, main))
    return found


def _parse_amount(mode: str, amount: str | None) -> Amount:
    if mode == "grant":
        if amount not in (None, ""):
            raise BadRequest(
                N_(
                    "The reward on grant is set per patent by the rules; give the patent type, "
                    "not an amount."
                )
            )
        return Decimal("0.00")
    if amount is None or not str(amount).strip():
        raise BadRequest(N_("Give the amount: net income, operating profit or shares."))
    if mode == "equity":
        text = str(amount).strip().replace(",", "")
        if not text.isdigit() or int(text) > MAX_SHARES:
            raise BadRequest(
                N_("For an equity reward the amount is a whole number of shares, not “{value}”."),
                value=amount,
            )
        return int(text)
    try:
        return parse_yuan(str(amount).replace(",", ""))
    except MoneyError as error:
        raise BadRequest(str(error.args[0])) from None


def _portion(amount: Amount, percent: Decimal) -> Amount:
    """``percent`` of ``amount``, rounded up to the fen (money) or to a whole share."""
    exact = Decimal(amount) * percent / Decimal(100)
    if isinstance(amount, int):
        return int(exact.to_integral_value(rounding=ROUND_CEILING))
    return exact.quantize(FEN, rounding=ROUND_CEILING)


def _share(amount: Amount, percent: Decimal) -> Amount:
    """``percent`` of ``amount`` rounded half-up to the fen or share (for display)."""
    exact = Decimal(amount) * percent / Decimal(100)
    if isinstance(amount, int):
        return int(exact.to_integral_value(rounding=ROUND_HALF_UP))
    return exact.quantize(FEN, rounding=ROUND_HALF_UP)


def _text(amount: Amount | None) -> str | int | None:
    if amount is None or isinstance(amount, int):
        return amount
    return f"{amount.quantize(FEN):f}"


def _percent_text(percent: Decimal | None) -> str | None:
    return None if percent is None else f"{percent.normalize():f}"


def _cited(rule: RewardRule) -> str:
    article = rule.source()
    if rule.unconfirmed:
        article = gettext(N_("{article} (unconfirmed: check the primary text)"), article=article)
    return article


@dataclass(frozen=True)
class Simulation:
    """The answer of the calculator; :meth:`as_json` is the CLI's and the page's data."""

    resolution: Resolution
    amount: Amount
    percent: Decimal | None
    policy: Decimal | None
    pool: Amount
    pool_rule: RewardRule | None
    shares: tuple[Share, ...]
    main_rule: RewardRule | None
    main_minimum: Amount | None
    pay_by: date | None
    warnings: tuple[str, ...]

    @property
    def unit(self) -> str:
        return "shares" if isinstance(self.amount, int) else "yuan"

    @property
    def unconfirmed(self) -> bool:
        return any(entry.applied and entry.rule.unconfirmed for entry in self.resolution.rules)

    def rule_entries(self) -> list[dict[str, Any]]:
        return [_rule_json(entry) for entry in self.resolution.rules]

    def as_json(self) -> dict[str, Any]:
        found = self.resolution
        return {
            "jurisdiction": found.jurisdiction,
            "jurisdiction_name": jurisdiction_name(found.jurisdiction),
            "chain": list(found.chain),
            "unit_type": found.unit_type,
            "mode": found.mode,
            "patent_type": found.patent_type,
            "date": found.on.isoformat(),
            "unit": self.unit,
            "amount": None if found.mode == "grant" else _text(self.amount),
            "basis": "policy" if self.policy is not None else "statute",
            "percent": _percent_text(self.percent),
            "pool": _text(self.pool),
            "pay_by": self.pay_by.isoformat() if self.pay_by else None,
            "main_contributors_minimum": _text(self.main_minimum),
            "unconfirmed": self.unconfirmed,
            "rules": self.rule_entries(),
            "warnings": list(self.warnings),
            "contributors": [
                {
                    "name": share.contributor.name,
                    "weight": f"{share.contributor.weight.normalize():f}",
                    "main": share.contributor.main,
                    "amount": _text(share.amount),
                }
                for share in self.shares
            ],
        }


def _rule_json(entry: RuleInForce) -> dict[str, Any]:
    rule = entry.rule
    return {
        "id": rule.id,
        "jurisdiction": rule.jurisdiction,
        "measure": rule.measure,
        "measure_label": translate(MEASURES[rule.measure]),
        "floor_percent": _percent_text(rule.floor_percent),
        "floor_yuan": _text(rule.floor_yuan),
        "floor": rule.floor_text(),
        "years_min": rule.years_min,
        "years_max": rule.years_max,
        "deadline_months": rule.deadline_months,
        "force": rule.force,
        "force_label": translate(FORCES[rule.force]),
        "binding": rule.binding,
        "applied": entry.applied,
        "overridden_by": entry.overridden_by.id if entry.overridden_by else None,
        "source": rule.source(),
        "reference": rule.reference,
        "confidence": rule.confidence,
        "dates_confidence": rule.dates_confidence,
        "confidence_label": translate(CONFIDENCE[rule.confidence]),
        "unconfirmed": rule.unconfirmed,
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
    }


def _no_rule(found: Resolution) -> BadRequest:
    return BadRequest(
        N_(
            "No reward rule in the data covers {mode} for a {unit_type} in {jurisdiction} on "
            "{date}; give the unit's own percentage (--policy)."
        ),
        mode=translate(MODES[found.mode]),
        unit_type=translate(UNIT_TYPES[found.unit_type]),
        jurisdiction=jurisdiction_name(found.jurisdiction),
        date=found.on.isoformat(),
    )


def simulate(
    jurisdiction: str,
    unit_type: str,
    mode: str,
    amount: str | None,
    contributors: str | Sequence[Contributor],
    on: date,
    *,
    policy: str | Decimal | None = None,
    patent_type: str | None = None,
    book: RuleBook | None = None,
) -> Simulation:
    """Size the reward pool of one case and split it among the contributors.

    Raises :class:`BadRequest` for input it cannot use and :class:`RuleViolation` when the
    unit's own ``policy`` percentage, or the main contributors' share, falls below a floor
    that binds the unit; both carry messages in the user's language."""
    people = (
        parse_contributors(contributors) if isinstance(contributors, str) else list(contributors)
    )
    if not people:
        raise BadRequest(N_("Give at least one contributor as name:weight, e.g. “Li:3,Wang:1”."))
    mode_code = mode.strip()
    if mode_code == "grant" and not patent_type:
        raise BadRequest(
            N_("The reward on grant needs the patent type (invention, utility model or design).")
        )
    if mode_code != "grant" and patent_type:
        raise BadRequest(N_("The patent type is only used with the mode grant."))
    found = resolve(jurisdiction, unit_type, mode_code, on, patent_type or None, book)
    value = _parse_amount(found.mode, amount)
    warnings: list[str] = []
    pool_rule = found.pool_rule
    percent: Decimal | None = None
    own: Decimal | None = None
    pay_by: date | None = None

    if found.mode == "grant":
        if policy not in (None, ""):
            raise BadRequest(N_("A policy percentage does not apply to the reward on grant."))
        if pool_rule is None or pool_rule.floor_yuan is None:
            raise _no_rule(found)
        pool: Amount = pool_rule.floor_yuan
        if pool_rule.deadline_months:
            pay_by = add_months(on, pool_rule.deadline_months)
    else:
        measure = POOL_MEASURE[found.mode]
        if policy not in (None, ""):
            own = check_percent(policy)
            checked = check_policy(found.jurisdiction, found.unit_type, on, {measure: own}, book)
            if not checked.allowed:
                raise RuleViolation([finding.problem() for finding in checked.refusals])
            warnings.extend(finding.message() for finding in checked.notes)
            percent = own
        elif pool_rule is not None and pool_rule.floor_percent is not None:
            percent = pool_rule.floor_percent
        else:
            raise _no_rule(found)
        pool = _portion(value, percent)

    weights = [person.weight for person in people]
    parts: Sequence[Amount] = (
        allocate_units(pool, weights) if isinstance(pool, int) else allocate(pool, weights)
    )
    shares = tuple(Share(person, part) for person, part in zip(people, parts, strict=True))

    main_rule = found.effective("main_contributors")
    main_minimum: Amount | None = None
    if main_rule is not None and main_rule.floor_percent is not None:
        main_minimum = _share(pool, main_rule.floor_percent)
        marked = [share for share in shares if share.contributor.main]
        if not marked:
            warnings.append(
                gettext(
                    N_(
                        "{article} gives the main contributors at least {floor}% of the "
                        "reward ({minimum}); mark them as name:weight:main to check it."
                    ),
                    article=_cited(main_rule),
                    floor=_percent_text(main_rule.floor_percent),
                    minimum=_text(main_minimum),
                )
            )
        else:
            # The rule is about shares of the reward, so the weights are compared exactly;
            # the amounts then differ from the exact shares by less than a fen (or a share).
            main_weight = sum((share.contributor.weight for share in marked), Decimal(0))
            all_weight = sum((person.weight for person in people), Decimal(0))
            given = main_weight * 100 / all_weight
            if given < main_rule.floor_percent:
                problem = FieldProblem(
                    "contributors",
                    N_(
                        "The main contributors' weights give them {given}% of the reward, below "
                        "the {floor}% that {article} requires; give them more weight."
                    ),
                    {
                        "given": _percent_text(given.quantize(Decimal("0.01"))),
                        "floor": _percent_text(main_rule.floor_percent),
                        "article": _cited(main_rule),
                    },
                )
                if main_rule.binding:
                    raise RuleViolation([problem])
                warnings.append(problem.render(translate))

    for entry in found.rules:
        if not entry.applied:
            continue
        if entry.rule.confidence == "U":
            message = N_(
                "{article} is marked unconfirmed in the domain notes: check the primary text "
                "before relying on it."
            )
        elif entry.rule.dates_confidence == "U":
            message = N_(
                "The dates or deadline of {article} are marked unconfirmed in the domain "
                "notes: check them before relying on them near a change of rules."
            )
        else:
            continue
        warnings.append(gettext(message, article=entry.rule.source()))
    return Simulation(
        resolution=found,
        amount=value,
        percent=percent,
        policy=own,
        pool=pool,
        pool_rule=pool_rule,
        shares=shares,
        main_rule=main_rule,
        main_minimum=main_minimum,
        pay_by=pay_by,
        warnings=tuple(warnings),
    )

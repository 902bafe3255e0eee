"""The reward law as data: which floors apply to a unit, and whether its own policy meets them.

Rules are rows of ``reference/reward_rules.csv`` (reward floors, main contributors' share,
grant rewards, payment deadlines) and ``reference/net_income_rules.csv`` (which deductions a
jurisdiction's definition of net income allows), each with its jurisdiction, unit types,
effective dates, force and the article it comes from (domain-rules §1; the statutes in
``shared/docs/laws/``).

Resolution. A jurisdiction is ``CN`` or a GB/T 2260 code; a county inherits from its city, a
city from its province, a province from ``CN``. For each measure (say, the share of net
licence income) the most specific jurisdiction with a rule in force wins and the less specific
ones are listed as overridden. A local rule never removes a *binding* national floor, though:
a unit's own policy is checked against every binding floor along the chain.

Force. ``binding``: the unit's own rule or agreement must meet the floor (law Art. 45 ¶2 for
state-established institutes and universities; Zhejiang and Shandong "shall"); ``default``:
applies only when the unit has no rule or agreement (Art. 45 ¶1), a lower own policy is
allowed; ``permissive``: a standard the regulation allows or offers ("may", Beijing Art. 12
¶3, Shanghai Art. 34), which the calculator applies but a lower own policy does not break.

A rule marked U (unconfirmed) in the domain notes, or whose dates are, says so wherever it is
shown (:attr:`RewardRule.unconfirmed`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from shelfbridge.core.errors import BadRequest, FieldProblem, RuleViolation
from shelfbridge.core.i18n import N_, current_language, gettext, translate
from shelfbridge.core.money import FEN

NATIONAL = "CN"
RULES_FILE = "reward_rules.csv"
NET_INCOME_FILE = "net_income_rules.csv"

UNIT_TYPES: dict[str, str] = {
    "state-university": N_("state university"),
    "state-institute": N_("state research institute"),
    "state-enterprise": N_("state-owned enterprise"),
    "private-university": N_("private university"),
    "private-institute": N_("private research institute"),
    "private-enterprise": N_("private enterprise"),
}
MODES: dict[str, str] = {
    "transfer": N_("transfer"),
    "licence": N_("licence"),
    "equity": N_("equity investment"),
    "self-use": N_("own or joint use (operating profit)"),
    "grant": N_("reward on patent grant"),
}
PATENT_TYPES: dict[str, str] = {
    "invention": N_("invention patent"),
    "utility-model": N_("utility model"),
    "design": N_("design patent"),
}
MEASURES: dict[str, str] = {
    "net_income": N_("share of net transfer or licence income"),
    "equity": N_("share of the shares or capital contribution formed"),
    "operating_profit": N_("share of the year's operating profit"),
    "grant_reward": N_("reward per granted patent"),
    "main_contributors": N_("main contributors' share of the total reward"),
    "tto_staff": N_("technology-transfer staff's share of the total reward"),
    "tto_office": N_("share of net transfer income for the technology-transfer office"),
    "payment_deadline": N_("deadline to pay a cash reward"),
}
# The measure that sizes the reward pool of each mode.
POOL_MEASURE = {
    "transfer": "net_income",
    "licence": "net_income",
    "equity": "equity",
    "self-use": "operating_profit",
    "grant": "grant_reward",
}
PERCENT_MEASURES = frozenset(
    {"net_income", "equity", "operating_profit", "main_contributors", "tto_staff", "tto_office"}
)
# The measures a unit's own reward policy sets, as percentages.
POLICY_MEASURES = ("net_income", "equity", "operating_profit", "main_contributors")
FORCES: dict[str, str] = {
    "binding": N_("binding"),
    "default": N_("default (when the unit has no rule)"),
    "permissive": N_("permitted standard (“may”)"),
}
CONFIDENCE: dict[str, str] = {
    "C": N_("confirmed"),
    "S": N_("secondary source"),
    "U": N_("unconfirmed"),
}
DEDUCTIONS: dict[str, str] = {
    "taxes": N_("taxes on the deal"),
    "maintenance": N_("costs of maintaining the result (patent fees and the like)"),
    "direct-costs": N_("direct deal costs (appraisal, authentication, negotiation)"),
    "rd-costs-public": N_("R&D costs paid from public funds"),
    "rd-costs-other": N_("other R&D costs"),
}


class RuleDataError(ValueError):
    """A row of a rule file is malformed or contradicts another (a bug in the data)."""


# ---------------------------------------------------------------------------- rule rows
@dataclass(frozen=True)
class RewardRule:
    """One row of ``reward_rules.csv``."""

    id: str
    jurisdiction: str
    unit_types: frozenset[str]
    modes: frozenset[str]
    measure: str
    patent_types: frozenset[str]
    floor_percent: Decimal | None
    floor_yuan: Decimal | None
    years_min: int | None
    years_max: int | None
    deadline_months: int | None
    force: str
    effective_from: date
    effective_to: date | None
    confidence: str
    dates_confidence: str
    source_zh: str
    source_en: str
    reference: str
    note: str = ""

    @property
    def binding(self) -> bool:
        return self.force == "binding"

    @property
    def unconfirmed(self) -> bool:
        """True when the figure or the dates are marked U in the domain notes."""
        return "U" in (self.confidence, self.dates_confidence)

    def source(self, language: str | None = None) -> str:
        """The article the rule comes from, in the given (else the current) language."""
        return self.source_en if (language or current_language.get()) == "en" else self.source_zh

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def covers(self, unit_type: str, mode: str, patent_type: str | None = None) -> bool:
        if unit_type not in self.unit_types or mode not in self.modes:
            return False
        return not self.patent_types or patent_type in self.patent_types

    def floor_text(self) -> str:
        """``≥ 70%`` or ``≥ ¥4,000.00``, with years or a deadline where the rule sets them."""
        parts = []
        if self.floor_percent is not None:
            parts.append(f"≥ {self.floor_percent.normalize():f}%")
        if self.floor_yuan is not None:
            parts.append(f"≥ ¥{self.floor_yuan:,.2f}")
        if self.years_min is not None and self.years_max is not None:
            if self.years_min == self.years_max:
                parts.append(gettext("for {years} years", years=self.years_min))
            else:
                parts.append(
                    gettext("for {low}–{high} years", low=self.years_min, high=self.years_max)
                )
        elif self.years_max is not None:
            parts.append(gettext("within {years} years", years=self.years_max))
        if self.deadline_months is not None:
            parts.append(gettext("pay within {months} months", months=self.deadline_months))
        return ", ".join(parts)


@dataclass(frozen=True)
class NetIncomeRule:
    """One row of ``net_income_rules.csv``: may this deduction be taken from gross income?"""

    id: str
    jurisdiction: str
    deduction: str
    allowed: bool
    effective_from: date
    effective_to: date | None
    confidence: str
    source_zh: str
    source_en: str
    reference: str
    note: str = ""

    @property
    def unconfirmed(self) -> bool:
        return self.confidence == "U"

    def source(self, language: str | None = None) -> str:
        return self.source_en if (language or current_language.get()) == "en" else self.source_zh

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


def _date(text: str, row_id: str, column: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RuleDataError(f"{row_id}: {column} {text!r} is not a date") from None


def _optional_int(text: str, row_id: str, column: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise RuleDataError(f"{row_id}: {column} {text!r} is not a whole number")
    return int(text)


def _optional_decimal(text: str, row_id: str, column: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RuleDataError(f"{row_id}: {column} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise RuleDataError(f"{row_id}: {column} must be positive")
    return value


def _codes(text: str, known: Mapping[str, str], row_id: str, column: str) -> frozenset[str]:
    codes = frozenset(part.strip() for part in text.split(";") if part.strip())
    unknown = codes - set(known)
    if unknown:
        raise RuleDataError(f"{row_id}: unknown {column} {sorted(unknown)}")
    return codes


def _check_jurisdiction(code: str, row_id: str) -> None:
    if code != NATIONAL and code not in _regions():
        raise RuleDataError(f"{row_id}: jurisdiction {code!r} is not CN or a GB/T 2260 code")


def _check_confidence(mark: str, row_id: str) -> None:
    if mark not in CONFIDENCE:
        raise RuleDataError(f"{row_id}: confidence {mark!r} is not C, S or U")


def parse_reward_rule(row: Mapping[str, str]) -> RewardRule:
    """A rule from one CSV row; :class:`RuleDataError` names what is wrong."""
    row_id = row.get("id", "").strip()
    if not row_id:
        raise RuleDataError("a rule has no id")
    measure = row["measure"]
    if measure not in MEASURES:
        raise RuleDataError(f"{row_id}: unknown measure {measure!r}")
    force = row["force"]
    if force not in FORCES:
        raise RuleDataError(f"{row_id}: unknown force {force!r}")
    jurisdiction = row["jurisdiction"].strip()
    _check_jurisdiction(jurisdiction, row_id)
    _check_confidence(row["confidence"], row_id)
    _check_confidence(row["dates_confidence"], row_id)
    rule = RewardRule(
        id=row_id,
        jurisdiction=jurisdiction,
        unit_types=_codes(row["unit_types"], UNIT_TYPES, row_id, "unit type"),
        modes=_codes(row["modes"], MODES, row_id, "mode"),
        measure=measure,
        patent_types=_codes(row["patent_types"], PATENT_TYPES, row_id, "patent type"),
        floor_percent=_optional_decimal(row["floor_percent"], row_id, "floor_percent"),
        floor_yuan=_optional_decimal(row["floor_yuan"], row_id, "floor_yuan"),
        years_min=_optional_int(row["years_min"], row_id, "years_min"),
        years_max=_optional_int(row["years_max"], row_id, "years_max"),
        deadline_months=_optional_int(row["deadline_months"], row_id, "deadline_months"),
        force=force,
        effective_from=_date(row["effective_from"], row_id, "effective_from"),
        effective_to=(
            _date(row["effective_to"], row_id, "effective_to") if row["effective_to"] else None
        ),
        confidence=row["confidence"],
        dates_confidence=row["dates_confidence"],
        source_zh=row["source_zh"].strip(),
        source_en=row["source_en"].strip(),
        reference=row["reference"].strip(),
        note=row.get("note", "").strip(),
    )
    if not rule.unit_types or not rule.modes:
        raise RuleDataError(f"{row_id}: names no unit type or no mode")
    if not rule.source_zh or not rule.source_en:
        raise RuleDataError(f"{row_id}: cites no article")
    if measure in PERCENT_MEASURES:
        if rule.floor_percent is None or rule.floor_yuan is not None:
            raise RuleDataError(f"{row_id}: {measure} takes floor_percent only")
        if rule.floor_percent > 100:
            raise RuleDataError(f"{row_id}: floor_percent above 100")
    elif measure == "grant_reward":
        if rule.floor_yuan is None or rule.floor_percent is not None or not rule.patent_types:
            raise RuleDataError(f"{row_id}: grant_reward takes floor_yuan and patent types")
        if rule.floor_yuan != rule.floor_yuan.quantize(FEN):
            raise RuleDataError(f"{row_id}: floor_yuan is not exact to the fen")
    elif rule.deadline_months is None:
        raise RuleDataError(f"{row_id}: payment_deadline takes deadline_months")
    if rule.effective_to is not None and rule.effective_to < rule.effective_from:
        raise RuleDataError(f"{row_id}: effective_to before effective_from")
    if (rule.years_min or 0) > (rule.years_max or rule.years_min or 0):
        raise RuleDataError(f"{row_id}: years_min above years_max")
    return rule


def parse_net_income_rule(row: Mapping[str, str]) -> NetIncomeRule:
    row_id = row.get("id", "").strip()
    if not row_id:
        raise RuleDataError("a net-income rule has no id")
    if row["deduction"] not in DEDUCTIONS:
        raise RuleDataError(f"{row_id}: unknown deduction {row['deduction']!r}")
    if row["allowed"] not in ("yes", "no"):
        raise RuleDataError(f"{row_id}: allowed must be yes or no")
    jurisdiction = row["jurisdiction"].strip()
    _check_jurisdiction(jurisdiction, row_id)
    _check_confidence(row["confidence"], row_id)
    rule = NetIncomeRule(
        id=row_id,
        jurisdiction=jurisdiction,
        deduction=row["deduction"],
        allowed=row["allowed"] == "yes",
        effective_from=_date(row["effective_from"], row_id, "effective_from"),
        effective_to=(
            _date(row["effective_to"], row_id, "effective_to") if row["effective_to"] else None
        ),
        confidence=row["confidence"],
        source_zh=row["source_zh"].strip(),
        source_en=row["source_en"].strip(),
        reference=row["reference"].strip(),
        note=row.get("note", "").strip(),
    )
    if not rule.source_zh or not rule.source_en:
        raise RuleDataError(f"{row_id}: cites no source")
    return rule


def _overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


@dataclass(frozen=True)
class RuleBook:
    """A consistent set of rules: no two rows of one jurisdiction say different things about
    the same measure, unit type, mode and patent type on the same day. The built-in book comes
    from the CSV files (:func:`builtin_rule_book`); another book (a unit's tests, a proposed
    amendment) is built the same way from its own rows."""

    rules: tuple[RewardRule, ...]
    net_income_rules: tuple[NetIncomeRule, ...] = ()
    by_jurisdiction: dict[str, tuple[RewardRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise RuleDataError(f"{rule.id}: id used twice")
            seen.add(rule.id)
        for index, a in enumerate(self.rules):
            for b in self.rules[index + 1 :]:
                if (
                    a.jurisdiction == b.jurisdiction
                    and a.measure == b.measure
                    and a.unit_types & b.unit_types
                    and a.modes & b.modes
                    and (
                        not a.patent_types or not b.patent_types or a.patent_types & b.patent_types
                    )
                    and _overlap(a.effective_from, a.effective_to, b.effective_from, b.effective_to)
                ):
                    raise RuleDataError(f"{a.id} and {b.id} overlap")
        for index, n in enumerate(self.net_income_rules):
            if n.id in seen:
                raise RuleDataError(f"{n.id}: id used twice")
            seen.add(n.id)
            for m in self.net_income_rules[index + 1 :]:
                if (
                    n.jurisdiction == m.jurisdiction
                    and n.deduction == m.deduction
                    and _overlap(n.effective_from, n.effective_to, m.effective_from, m.effective_to)
                ):
                    raise RuleDataError(f"{n.id} and {m.id} overlap")
        grouped: dict[str, list[RewardRule]] = {}
        for rule in self.rules:
            grouped.setdefault(rule.jurisdiction, []).append(rule)
        self.by_jurisdiction.update({k: tuple(v) for k, v in grouped.items()})

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, str]],
        net_income_rows: Iterable[Mapping[str, str]] = (),
    ) -> RuleBook:
        return cls(
            tuple(parse_reward_rule(row) for row in rows),
            tuple(parse_net_income_rule(row) for row in net_income_rows),
        )

    def get(self, rule_id: str) -> RewardRule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


@cache
def builtin_rule_book() -> RuleBook:
    """The rules Shelfbridge ships, read once from ``shelfbridge/reference/``."""
    from shelfbridge.registry.reference import read_reference_csv

    return RuleBook.from_rows(read_reference_csv(RULES_FILE), read_reference_csv(NET_INCOME_FILE))


# ---------------------------------------------------------------------------- jurisdictions
@cache
def _regions() -> dict[str, tuple[str, str | None]]:
    """GB/T 2260 code → (name, parent code), from the regions reference file."""
    from shelfbridge.registry.reference import read_reference_csv

    return {
        row["code"]: (row["name"], row["parent_code"] or None)
        for row in read_reference_csv("regions.csv")
    }


def normalize_jurisdiction(code: str) -> str:
    """``CN`` or a known six-digit GB/T 2260 code; anything else is refused."""
    text = code.strip()
    if text.upper() == NATIONAL:
        return NATIONAL
    if len(text) != 6 or not text.isdigit():
        raise BadRequest(
            N_(
                "“{code}” is not a jurisdiction: give CN or a six-digit GB/T 2260 code, "
                "e.g. 110000."
            ),
            code=code,
        )
    if text not in _regions():
        raise BadRequest(
            N_("“{code}” is not a known GB/T 2260 region code (for example 110000 is Beijing)."),
            code=code,
        )
    return text


def jurisdiction_chain(code: str) -> tuple[str, ...]:
    """The jurisdiction and those it inherits from, most specific first, ending with CN."""
    current: str | None = normalize_jurisdiction(code)
    chain: list[str] = []
    regions = _regions()
    while current is not None and current != NATIONAL:
        chain.append(current)
        current = regions[current][1]
    chain.append(NATIONAL)
    return tuple(chain)


def province_codes() -> list[str]:
    """The province-level GB/T 2260 codes, in order."""
    return sorted(code for code in _regions() if code.endswith("0000"))


def jurisdiction_name(code: str) -> str:
    if code == NATIONAL:
        return gettext(N_("national (CN)"))
    name = _regions()[code][0]
    return f"{name} ({code})"


def _choice(value: str, known: Mapping[str, str], message: str) -> str:
    text = value.strip()
    if text not in known:
        raise BadRequest(message, value=value, choices=", ".join(known))
    return text


def check_unit_type(value: str) -> str:
    return _choice(value, UNIT_TYPES, N_("Unknown unit type “{value}”; choose one of: {choices}."))


def check_mode(value: str) -> str:
    return _choice(value, MODES, N_("Unknown mode “{value}”; choose one of: {choices}."))


def check_patent_type(value: str) -> str:
    return _choice(
        value, PATENT_TYPES, N_("Unknown patent type “{value}”; choose one of: {choices}.")
    )


# ---------------------------------------------------------------------------- resolution
@dataclass(frozen=True)
class RuleInForce:
    """A rule that covers the case, and the more specific rule that replaces it, if any."""

    rule: RewardRule
    overridden_by: RewardRule | None = None

    @property
    def applied(self) -> bool:
        return self.overridden_by is None


@dataclass(frozen=True)
class Resolution:
    """The rules in force for one jurisdiction, unit type, mode and date."""

    jurisdiction: str
    chain: tuple[str, ...]
    unit_type: str
    mode: str
    on: date
    patent_type: str | None
    rules: tuple[RuleInForce, ...]

    def effective(self, measure: str) -> RewardRule | None:
        """The rule that decides ``measure`` here (the most specific one), if any."""
        for entry in self.rules:
            if entry.applied and entry.rule.measure == measure:
                return entry.rule
        return None

    def binding(self, measure: str) -> list[RewardRule]:
        """Every binding rule for ``measure`` along the chain, overridden ones included: a
        local rule never lowers a binding national floor."""
        return [e.rule for e in self.rules if e.rule.measure == measure and e.rule.binding]

    @property
    def pool_rule(self) -> RewardRule | None:
        return self.effective(POOL_MEASURE[self.mode])


def resolve(
    jurisdiction: str,
    unit_type: str,
    mode: str,
    on: date,
    patent_type: str | None = None,
    book: RuleBook | None = None,
) -> Resolution:
    """The rules in force for a case, most specific jurisdiction first."""
    book = book or builtin_rule_book()
    chain = jurisdiction_chain(jurisdiction)
    unit_type = check_unit_type(unit_type)
    mode = check_mode(mode)
    if patent_type is not None:
        patent_type = check_patent_type(patent_type)
    winners: dict[str, RewardRule] = {}
    found: list[RuleInForce] = []
    for code in chain:
        here = [
            rule
            for rule in book.by_jurisdiction.get(code, ())
            if rule.in_force(on) and rule.covers(unit_type, mode, patent_type)
        ]
        for rule in here:
            found.append(RuleInForce(rule, winners.get(rule.measure)))
        for rule in here:
            winners.setdefault(rule.measure, rule)
    return Resolution(chain[0], chain, unit_type, mode, on, patent_type, tuple(found))


# ---------------------------------------------------------------------------- own policies
@dataclass(frozen=True)
class PolicyFinding:
    """One of a unit's percentages compared with one floor."""

    measure: str
    percent: Decimal
    rule: RewardRule

    def problem(self) -> FieldProblem:
        """The finding as a message that cites the article (in the current language)."""
        article = self.rule.source()
        if self.rule.unconfirmed:
            article = gettext(
                N_("{article} (unconfirmed: check the primary text)"), article=article
            )
        params = {
            "percent": f"{self.percent.normalize():f}",
            "floor": f"{(self.rule.floor_percent or Decimal(0)).normalize():f}",
            "measure": translate(MEASURES[self.measure]),
            "article": article,
        }
        if self.rule.binding:
            message = N_(
                "{percent}% as the {measure} is below the binding floor of {floor}% set by "
                "{article}; raise it to at least {floor}%."
            )
        else:
            message = N_(
                "{percent}% as the {measure} is below the {floor}% standard of {article}; "
                "allowed, because that standard does not bind this unit."
            )
        return FieldProblem(self.measure, message, params)

    def message(self) -> str:
        return self.problem().render(translate)


@dataclass(frozen=True)
class PolicyCheck:
    """A unit's own policy against the floors: ``refusals`` break binding floors, ``notes``
    fall below floors that do not bind the unit (allowed)."""

    refusals: tuple[PolicyFinding, ...]
    notes: tuple[PolicyFinding, ...]
    floors: tuple[RewardRule, ...]

    @property
    def allowed(self) -> bool:
        return not self.refusals


def check_policy(
    jurisdiction: str,
    unit_type: str,
    on: date,
    policy: Mapping[str, Decimal],
    book: RuleBook | None = None,
) -> PolicyCheck:
    """Compare a unit's own percentages (``{"net_income": Decimal(60), …}``, measures of
    :data:`POLICY_MEASURES`) with every floor in force for it along the jurisdiction chain.

    A private enterprise may set any share (the national floors are defaults for it); a state
    university may not go below a binding floor, whether national or local."""
    book = book or builtin_rule_book()
    chain = jurisdiction_chain(jurisdiction)
    unit_type = check_unit_type(unit_type)
    refusals: list[PolicyFinding] = []
    notes: list[PolicyFinding] = []
    floors: list[RewardRule] = []
    for measure, percent in policy.items():
        if measure not in POLICY_MEASURES:
            raise BadRequest(
                N_("A unit's policy sets {choices}; “{value}” is not one of them."),
                value=measure,
                choices=", ".join(POLICY_MEASURES),
            )
        percent = check_percent(percent)
        for code in chain:
            for rule in book.by_jurisdiction.get(code, ()):
                if (
                    rule.measure != measure
                    or unit_type not in rule.unit_types
                    or not rule.in_force(on)
                ):
                    continue
                floors.append(rule)
                if rule.floor_percent is not None and percent < rule.floor_percent:
                    finding = PolicyFinding(measure, percent, rule)
                    (refusals if rule.binding else notes).append(finding)
    return PolicyCheck(tuple(refusals), tuple(notes), tuple(floors))


def require_policy(
    jurisdiction: str,
    unit_type: str,
    on: date,
    policy: Mapping[str, Decimal],
    book: RuleBook | None = None,
) -> PolicyCheck:
    """:func:`check_policy`, raising :class:`RuleViolation` (each message citing its
    article) when a binding floor is not met."""
    checked = check_policy(jurisdiction, unit_type, on, policy, book)
    if not checked.allowed:
        raise RuleViolation([finding.problem() for finding in checked.refusals])
    return checked


def check_percent(value: object) -> Decimal:
    """A percentage between 0 and 100, given as text or Decimal."""
    try:
        percent = value if isinstance(value, Decimal) else Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        percent = Decimal("NaN")
    if isinstance(value, (bool, float)) or not percent.is_finite() or not 0 <= percent <= 100:
        raise BadRequest(N_("“{value}” is not a percentage between 0 and 100."), value=value)
    return percent


# ---------------------------------------------------------------------------- grant rewards
def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class GrantReward:
    """The statutory minimum reward for one granted patent, and when it is due."""

    patent_type: str
    announced_on: date
    amount: Decimal
    pay_by: date | None
    rule: RewardRule


def grant_reward(
    patent_type: str,
    announced_on: date,
    unit_type: str = "state-university",
    jurisdiction: str = NATIONAL,
    book: RuleBook | None = None,
) -> GrantReward:
    """The default reward on grant under the Implementing Rules in force on the day the grant
    was announced: ¥4,000 / ¥1,500 under the 2023 rules (Art. 93), ¥3,000 / ¥1,000 under the
    2010 rules (Art. 77), due within 3 months of the announcement. A default: a unit may
    agree on or set another form and amount (Art. 92)."""
    found = resolve(jurisdiction, unit_type, "grant", announced_on, patent_type, book)
    rule = found.effective("grant_reward")
    if rule is None or rule.floor_yuan is None:
        raise BadRequest(
            N_("No grant-reward rule in the data covers {date}."), date=announced_on.isoformat()
        )
    pay_by = add_months(announced_on, rule.deadline_months) if rule.deadline_months else None
    return GrantReward(
        found.patent_type or patent_type, announced_on, rule.floor_yuan, pay_by, rule
    )


# ---------------------------------------------------------------------------- net income
@dataclass(frozen=True)
class Deduction:
    kind: str
    amount: Decimal
    allowed: bool
    rule: NetIncomeRule | None


@dataclass(frozen=True)
class NetIncome:
    """Net income under the definition of a jurisdiction: gross less the allowed deductions
    (never below zero); deductions the definition does not allow are listed, not taken."""

    gross: Decimal
    net: Decimal
    deductions: tuple[Deduction, ...]

    @property
    def unconfirmed(self) -> bool:
        return any(d.rule is not None and d.rule.unconfirmed for d in self.deductions)


def net_income_rules(
    jurisdiction: str, on: date, book: RuleBook | None = None
) -> dict[str, NetIncomeRule]:
    """Deduction kind → the rule of the most specific jurisdiction that defines it."""
    book = book or builtin_rule_book()
    chosen: dict[str, NetIncomeRule] = {}
    for code in jurisdiction_chain(jurisdiction):
        for rule in book.net_income_rules:
            if rule.jurisdiction == code and rule.in_force(on):
                chosen.setdefault(rule.deduction, rule)
    return chosen


def net_income(
    jurisdiction: str,
    on: date,
    gross: Decimal,
    deductions: Mapping[str, Decimal],
    book: RuleBook | None = None,
) -> NetIncome:
    rules = net_income_rules(jurisdiction, on, book)
    taken: list[Deduction] = []
    total = Decimal(0)
    for kind, amount in deductions.items():
        if kind not in DEDUCTIONS:
            raise BadRequest(
                N_("Unknown deduction “{value}”; choose one of: {choices}."),
                value=kind,
                choices=", ".join(DEDUCTIONS),
            )
        rule = rules.get(kind)
        allowed = rule is not None and rule.allowed
        taken.append(Deduction(kind, amount, allowed, rule))
        if allowed:
            total += amount
    return NetIncome(gross, max(gross - total, Decimal("0.00")), tuple(taken))

"""Reward rules straight from the statutes (shared/docs/laws/) and the pitfalls of
domain-rules §10 that concern rewards (1, 2, 3 and 7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shelfbridge.core.errors import BadRequest, RuleViolation
from shelfbridge.core.i18n import current_language
from shelfbridge.ip.rules import (
    MODES,
    POOL_MEASURE,
    UNIT_TYPES,
    RuleBook,
    RuleDataError,
    add_months,
    builtin_rule_book,
    check_policy,
    grant_reward,
    jurisdiction_chain,
    net_income,
    require_policy,
    resolve,
)
from shelfbridge.registry.reference import read_reference_csv

DAY = date(2024, 6, 1)
STATE = ("state-university", "state-institute")
LOCAL_70 = {"110000", "310000", "330000", "370000"}


def pool_floor(jurisdiction: str, unit_type: str, mode: str, on: date = DAY) -> Decimal | None:
    rule = resolve(jurisdiction, unit_type, mode, on).pool_rule
    return None if rule is None else rule.floor_percent


# ---------------------------------------------------------------- the data itself
def test_the_builtin_rules_load_and_every_row_cites_an_article() -> None:
    book = builtin_rule_book()
    assert len(book.rules) >= 20
    for rule in book.rules:
        assert rule.source_zh.startswith("《") and rule.source_en, rule.id
        assert rule.reference, rule.id
    for rule in book.net_income_rules:
        assert rule.source_zh and rule.source_en, rule.id


def test_overlapping_rules_are_refused() -> None:
    row = dict(read_reference_csv("reward_rules.csv")[0])
    twin = {**row, "id": "TWIN", "floor_percent": "40"}
    with pytest.raises(RuleDataError, match="overlap"):
        RuleBook.from_rows([row, twin])


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("unit_types", "state-university;charity"),
        ("modes", "sale"),
        ("jurisdiction", "999999"),
        ("floor_percent", "120"),
        ("confidence", "X"),
        ("effective_from", "2015-13-01"),
        ("source_zh", ""),
    ],
)
def test_malformed_rule_rows_are_refused(column: str, value: str) -> None:
    row = {**read_reference_csv("reward_rules.csv")[0], column: value}
    with pytest.raises(RuleDataError):
        RuleBook.from_rows([row])


def test_a_county_inherits_from_its_city_province_and_the_nation() -> None:
    assert jurisdiction_chain("110108") == ("110108", "110100", "110000", "CN")
    assert jurisdiction_chain("cn") == ("CN",)
    assert pool_floor("110108", "state-university", "licence") == 70


@pytest.mark.parametrize("code", ["11", "1100000", "北京", "999999", ""])
def test_an_unknown_jurisdiction_is_refused(code: str) -> None:
    with pytest.raises(BadRequest):
        resolve(code, "state-university", "licence", DAY)


# ---------------------------------------------------------------- pitfall 1: 70% is local
def test_a_beijing_state_university_licence_gives_at_least_70_percent() -> None:
    found = resolve("110000", "state-university", "licence", DAY)
    assert found.pool_rule is not None
    assert found.pool_rule.floor_percent == 70
    assert "第十二条" in found.pool_rule.source_zh
    overridden = [entry for entry in found.rules if not entry.applied]
    assert [entry.rule.id for entry in overridden] == ["CN-STL45-2-1"]


def test_a_national_state_university_licence_gives_at_least_50_percent() -> None:
    found = resolve("CN", "state-university", "licence", DAY)
    assert found.pool_rule is not None
    assert found.pool_rule.floor_percent == 50
    assert found.pool_rule.binding
    assert "第四十五条" in found.pool_rule.source_zh


@pytest.mark.parametrize("unit_type", list(UNIT_TYPES))
@pytest.mark.parametrize("mode", [m for m in MODES if m != "grant"])
@pytest.mark.parametrize("on", [date(2016, 1, 1), date(2020, 6, 1), date(2030, 1, 1)])
def test_the_70_percent_floor_is_never_applied_nationally(
    unit_type: str, mode: str, on: date
) -> None:
    for code in ("CN", "440000", "440300", "510000"):  # national, Guangdong, Shenzhen, Sichuan
        floor = pool_floor(code, unit_type, mode, on)
        assert floor is not None and floor <= 50


def test_no_national_rule_row_carries_a_70_percent_floor() -> None:
    national = [rule for rule in builtin_rule_book().rules if rule.jurisdiction == "CN"]
    assert national and all(rule.floor_percent != 70 for rule in national)
    local = {rule.jurisdiction for rule in builtin_rule_book().rules if rule.floor_percent == 70}
    assert local == LOCAL_70


@pytest.mark.parametrize(
    ("code", "percent", "article"),
    [("310000", 70, "第三十四条"), ("330000", 70, "第三十七条"), ("370000", 70, "第三十四条")],
)
def test_shanghai_zhejiang_and_shandong_set_70_percent_for_state_units(
    code: str, percent: int, article: str
) -> None:
    rule = resolve(code, "state-institute", "transfer", DAY).pool_rule
    assert rule is not None and rule.floor_percent == percent and article in rule.source_zh
    equity = resolve(code, "state-institute", "equity", DAY).pool_rule
    assert equity is not None and equity.floor_percent == 70


def test_local_floors_start_when_their_regulation_took_effect() -> None:
    assert pool_floor("110000", "state-university", "licence", date(2019, 12, 31)) == 50
    assert pool_floor("110000", "state-university", "licence", date(2020, 1, 1)) == 70
    assert pool_floor("370000", "state-university", "licence", date(2017, 12, 31)) == 50
    assert pool_floor("370000", "state-university", "licence", date(2018, 1, 1)) == 70


def test_local_floors_cover_only_the_units_their_articles_name() -> None:
    # Beijing Art. 12 ¶3 names government-established institutes and universities only
    assert pool_floor("110000", "private-university", "licence") == 50
    assert pool_floor("110000", "state-enterprise", "licence") == 50
    # Shanghai Art. 34 names research institutes and universities, not only government ones
    assert pool_floor("310000", "private-university", "licence") == 70
    assert pool_floor("310000", "private-enterprise", "licence") == 50


def test_operating_profit_floors_and_their_years() -> None:
    national = resolve("CN", "state-university", "self-use", DAY).pool_rule
    assert national is not None
    assert (national.floor_percent, national.years_min, national.years_max) == (5, 3, 5)
    shandong = resolve("370000", "state-university", "self-use", DAY).pool_rule
    assert shandong is not None
    assert (shandong.floor_percent, shandong.years_min, shandong.years_max) == (10, 3, 5)
    beijing = resolve("110000", "state-university", "self-use", DAY).pool_rule
    assert beijing is not None and (beijing.floor_percent, beijing.years_max) == (5, 5)
    zhejiang = resolve("330000", "state-university", "self-use", DAY).pool_rule
    assert zhejiang is not None and zhejiang.floor_percent == 10 and not zhejiang.binding


def test_no_rule_before_the_2015_law_took_effect() -> None:
    assert resolve("CN", "state-university", "licence", date(2015, 9, 30)).pool_rule is None


# ---------------------------------------------------------------- pitfall 2: default vs binding
def test_the_national_floors_are_defaults_for_a_private_enterprise() -> None:
    rule = resolve("CN", "private-enterprise", "licence", DAY).pool_rule
    assert rule is not None and rule.floor_percent == 50 and rule.force == "default"
    checked = check_policy("CN", "private-enterprise", DAY, {"net_income": Decimal(20)})
    assert checked.allowed
    assert [finding.rule.id for finding in checked.notes] == ["CN-STL45-1-1"]


def test_a_state_university_policy_below_the_national_floor_is_refused_citing_the_article() -> None:
    with pytest.raises(RuleViolation) as refused:
        require_policy("CN", "state-university", DAY, {"net_income": Decimal(40)})
    english = refused.value.render(lambda message: message)
    assert "Art. 45 ¶2" in english and "50%" in english
    token = current_language.set("zh")
    try:
        checked = check_policy("CN", "state-university", DAY, {"net_income": Decimal(40)})
        chinese = checked.refusals[0].message()
    finally:
        current_language.reset(token)
    assert "第四十五条第二款" in chinese and "50%" in chinese and "40%" in chinese


def test_the_same_low_policy_is_allowed_for_a_private_enterprise_and_refused_for_a_state_one() -> (
    None
):
    policy = {"net_income": Decimal(30), "equity": Decimal(30), "operating_profit": Decimal(2)}
    assert check_policy("CN", "private-enterprise", DAY, policy).allowed
    assert check_policy("CN", "state-enterprise", DAY, policy).allowed
    refused = check_policy("CN", "state-institute", DAY, policy)
    assert {finding.measure for finding in refused.refusals} == {
        "net_income",
        "equity",
        "operating_profit",
    }


def test_zhejiang_binds_its_state_universities_to_70_percent() -> None:
    checked = check_policy("330100", "state-university", DAY, {"net_income": Decimal(60)})
    assert not checked.allowed
    assert checked.refusals[0].rule.id == "ZJ-2017-37-1-1"
    assert "Art. 37" in checked.refusals[0].message()


def test_beijings_70_percent_is_a_standard_the_unit_may_adopt_not_a_binding_floor() -> None:
    # Beijing Art. 12 ¶3 says "may" (可以按照下列标准): 60% breaks no binding floor, but it is
    # noted against the Beijing standard; 40% still breaks the national binding floor.
    checked = check_policy("110000", "state-university", DAY, {"net_income": Decimal(60)})
    assert checked.allowed
    assert [finding.rule.id for finding in checked.notes] == ["BJ-2019-12-3-1"]
    assert not check_policy("110000", "state-university", DAY, {"net_income": Decimal(40)}).allowed


def test_a_policy_at_the_floor_is_allowed() -> None:
    assert check_policy("370000", "state-university", DAY, {"net_income": Decimal(70)}).allowed


@pytest.mark.parametrize("policy", [{"net_income": "120"}, {"bonus": "50"}, {"equity": "abc"}])
def test_a_malformed_policy_is_refused(policy: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        check_policy("CN", "state-university", DAY, policy)  # type: ignore[arg-type]


# ---------------------------------------------------------------- pitfall 3: main contributors
def test_main_contributors_get_at_least_half_the_reward_of_a_state_unit() -> None:
    found = resolve("CN", "state-university", "licence", DAY)
    main = found.effective("main_contributors")
    assert main is not None and main.floor_percent == 50 and main.binding
    pool = found.pool_rule
    assert pool is not None and pool.floor_percent is not None
    # 50% of a 50% pool: at least 25% of net income
    assert pool.floor_percent * main.floor_percent / 100 == 25
    # the State Council text was not seen: secondary, dates unconfirmed, and flagged
    assert main.confidence == "S" and main.unconfirmed


def test_zhejiang_raises_the_main_contributors_share_to_70_percent() -> None:
    found = resolve("330000", "state-institute", "equity", DAY)
    main = found.effective("main_contributors")
    assert main is not None and main.floor_percent == 70 and not main.unconfirmed
    staff = found.effective("tto_staff")
    assert staff is not None and staff.floor_percent == 5


def test_a_policy_below_the_main_contributors_share_is_refused() -> None:
    checked = check_policy("CN", "state-university", DAY, {"main_contributors": Decimal(40)})
    assert not checked.allowed
    assert "16" in checked.refusals[0].rule.source_zh


# ---------------------------------------------------------------- pitfall 7: grant rewards
@pytest.mark.parametrize(
    ("patent_type", "announced_on", "amount"),
    [
        ("invention", date(2020, 5, 15), Decimal("3000.00")),
        ("invention", date(2025, 5, 15), Decimal("4000.00")),
        ("utility-model", date(2020, 5, 15), Decimal("1000.00")),
        ("utility-model", date(2025, 5, 15), Decimal("1500.00")),
        ("design", date(2020, 5, 15), Decimal("1000.00")),
        ("design", date(2025, 5, 15), Decimal("1500.00")),
    ],
)
def test_the_grant_reward_follows_the_implementing_rules_in_force(
    patent_type: str, announced_on: date, amount: Decimal
) -> None:
    reward = grant_reward(patent_type, announced_on)
    assert reward.amount == amount
    assert reward.pay_by == add_months(announced_on, 3)


def test_the_grant_reward_cites_the_article_and_flags_its_unconfirmed_dates() -> None:
    new = grant_reward("invention", date(2025, 5, 15))
    old = grant_reward("invention", date(2020, 5, 15))
    assert "第九十三条" in new.rule.source_zh and "第七十七条" in old.rule.source_zh
    # the figures are confirmed, the day the 2023 rules took effect is not
    assert new.rule.confidence == "C" and new.rule.dates_confidence == "U" and new.rule.unconfirmed


def test_the_grant_reward_is_the_same_for_every_kind_of_unit() -> None:
    for unit_type in UNIT_TYPES:
        assert grant_reward("invention", date(2025, 1, 2), unit_type).amount == 4000


def test_the_payment_deadline_ends_on_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_zhejiang_sets_a_six_month_default_deadline_for_cash_rewards() -> None:
    rule = resolve("330000", "private-enterprise", "licence", DAY).effective("payment_deadline")
    assert rule is not None and rule.deadline_months == 6 and rule.force == "default"
    assert resolve("CN", "private-enterprise", "licence", DAY).effective("payment_deadline") is None


# ---------------------------------------------------------------- net income
def _deductions() -> dict[str, Decimal]:
    return {
        "taxes": Decimal("1000.00"),
        "maintenance": Decimal("2000.00"),
        "direct-costs": Decimal("3000.00"),
        "rd-costs-public": Decimal("10000.00"),
        "rd-costs-other": Decimal("20000.00"),
    }


def test_beijing_and_shanghai_deduct_taxes_maintenance_and_direct_costs_only() -> None:
    for code in ("110000", "310000"):
        result = net_income(code, DAY, Decimal("100000.00"), _deductions())
        assert result.net == Decimal("94000.00")
        assert not result.unconfirmed


def test_zhejiang_does_not_count_publicly_funded_rd_as_a_cost() -> None:
    result = net_income("330000", DAY, Decimal("100000.00"), _deductions())
    assert result.net == Decimal("74000.00")
    refused = [d.kind for d in result.deductions if not d.allowed]
    assert refused == ["rd-costs-public"]
    # "成本" is not itemised in Art. 37 ¶4: reading it item by item is flagged
    assert result.unconfirmed


def test_without_a_local_definition_the_general_model_applies_and_is_flagged() -> None:
    result = net_income("370000", DAY, Decimal("100000.00"), _deductions())
    assert result.net == Decimal("94000.00")
    assert result.unconfirmed


def test_net_income_never_goes_below_zero() -> None:
    result = net_income("110000", DAY, Decimal("100.00"), {"taxes": Decimal("500.00")})
    assert result.net == Decimal("0.00")


# ---------------------------------------------------------------- every case resolves
@pytest.mark.parametrize("unit_type", list(UNIT_TYPES))
@pytest.mark.parametrize("mode", [m for m in MODES if m != "grant"])
def test_every_unit_type_and_mode_has_a_pool_rule_in_every_rule_jurisdiction(
    unit_type: str, mode: str
) -> None:
    for code in ("CN", *sorted(LOCAL_70)):
        found = resolve(code, unit_type, mode, DAY)
        assert found.pool_rule is not None
        assert found.pool_rule.measure == POOL_MEASURE[mode]
        if unit_type in STATE:
            assert found.binding(POOL_MEASURE[mode]), (code, unit_type, mode)

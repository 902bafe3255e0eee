"""The reward calculator, through its service and through ``shelfbridge rewards simulate``."""

from __future__ import annotations

import contextvars
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from shelfbridge.cli import app as cli_app
from shelfbridge.core.errors import BadRequest, RuleViolation
from shelfbridge.ip.calculator import parse_contributors, simulate

DAY = date(2024, 6, 1)


def cli(*args: str, lang: str = "en") -> Any:
    """Run the command in a copied context, so its language does not leak into other tests."""
    runner = CliRunner()
    command = ["rewards", "simulate", *args, *(["--lang", lang] if lang else [])]
    return contextvars.copy_context().run(
        runner.invoke, cli_app, command, catch_exceptions=False, env={"LANG": ""}
    )


def simulate_json(*args: str) -> dict[str, Any]:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


# ---------------------------------------------------------------- the service
def test_a_beijing_state_university_licence_pool_is_70_percent_of_net_income() -> None:
    result = simulate("110000", "state-university", "licence", "100000", "Li:3,Wang:1", DAY)
    assert result.pool == Decimal("70000.00")
    assert [share.amount for share in result.shares] == [Decimal("52500.00"), Decimal("17500.00")]


def test_the_pool_is_rounded_up_so_it_never_falls_below_the_floor() -> None:
    result = simulate("CN", "state-university", "licence", "0.03", "Li:1", DAY)
    assert result.pool == Decimal("0.02")  # 50% of 0.03 is 0.015
    shares = simulate("CN", "state-institute", "equity", "1001", "Li:1,Wang:1", DAY)
    assert shares.pool == 501
    assert [share.amount for share in shares.shares] == [251, 250]


def test_a_private_enterprise_may_use_its_own_lower_policy() -> None:
    result = simulate("CN", "private-enterprise", "licence", "100000", "Li:1", DAY, policy="20")
    assert result.pool == Decimal("20000.00")
    assert result.percent == 20
    assert any("Art. 45 ¶1 (1)" in warning for warning in result.warnings)


def test_a_state_universitys_lower_policy_is_refused_with_the_article() -> None:
    with pytest.raises(RuleViolation) as refused:
        simulate("CN", "state-university", "licence", "100000", "Li:1", DAY, policy="40")
    assert "Art. 45 ¶2" in refused.value.render(lambda message: message)


def test_main_contributors_below_their_share_are_refused_for_a_state_unit() -> None:
    # Zhejiang Art. 37 ¶2: main contributors get at least 70% of the total reward
    with pytest.raises(RuleViolation) as refused:
        simulate("330000", "state-university", "licence", "1000", "Li:1:main,Wang:1", DAY)
    assert "Art. 37 ¶2" in refused.value.render(lambda message: message)
    allowed = simulate("330000", "state-university", "licence", "1000", "Li:7:main,Wang:3", DAY)
    assert allowed.main_minimum == Decimal("490.00")
    assert allowed.shares[0].amount == Decimal("490.00")


def test_main_contributors_exactly_at_their_share_are_not_refused_for_a_rounded_fen() -> None:
    # 70% of a ¥86,419.75 pool is ¥60,493.825; split over two main contributors the fen left
    # over goes to the third person, so the amounts sum to ¥60,493.82: the weights decide.
    result = simulate(
        "330106", "state-university", "licence", "123456.78", "A:3.5:main,B:3.5:main,C:3", DAY
    )
    assert result.pool == Decimal("86419.75")
    assert sum(share.amount for share in result.shares[:2]) == Decimal("60493.82")


def test_main_contributors_get_at_least_a_quarter_of_national_net_income() -> None:
    result = simulate("CN", "state-university", "licence", "100000", "Li:1:main,Wang:1", DAY)
    assert result.main_minimum == Decimal("25000.00")
    assert result.as_json()["unconfirmed"] is True  # the State Council rule's dates


def test_the_grant_reward_before_and_after_the_2023_rules() -> None:
    old = simulate(
        "CN",
        "state-university",
        "grant",
        None,
        "Li:1,Wang:1",
        date(2020, 5, 15),
        patent_type="invention",
    )
    new = simulate(
        "CN",
        "state-university",
        "grant",
        None,
        "Li:1,Wang:1",
        date(2025, 5, 15),
        patent_type="invention",
    )
    assert (old.pool, new.pool) == (Decimal("3000.00"), Decimal("4000.00"))
    assert new.pay_by == date(2025, 8, 15)
    utility = simulate(
        "CN",
        "private-enterprise",
        "grant",
        "",
        "Li:1",
        date(2025, 5, 15),
        patent_type="utility-model",
    )
    assert utility.pool == Decimal("1500.00")


@pytest.mark.parametrize(
    "text",
    ["", "Li", "Li:0", "Li:-1", "Li:abc", "Li:1,Li:2", ":3", "Li:1:boss", "Li:1e999999"],
)
def test_malformed_contributors_are_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_contributors(text)


def test_contributors_accept_chinese_punctuation() -> None:
    people = parse_contributors("李：2：main，王：1；张:0.5")
    assert [(p.name, p.weight, p.main) for p in people] == [
        ("李", Decimal(2), True),
        ("王", Decimal(1), False),
        ("张", Decimal("0.5"), False),
    ]


@pytest.mark.parametrize(
    ("mode", "amount", "extra"),
    [
        ("licence", None, {}),
        ("licence", "12.345", {}),
        ("licence", "-5", {}),
        ("equity", "10.5", {}),
        ("grant", None, {}),
        ("grant", "100", {"patent_type": "invention"}),
        ("licence", "100", {"patent_type": "invention"}),
        ("licence", "100", {"policy": "150"}),
        ("sale", "100", {}),
    ],
)
def test_bad_input_is_refused_with_a_message(
    mode: str, amount: str | None, extra: dict[str, str]
) -> None:
    with pytest.raises(BadRequest):
        simulate("CN", "state-university", mode, amount, "Li:1", DAY, **extra)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the command
def test_json_output_has_pool_rules_and_contributors() -> None:
    body = simulate_json(
        "--jurisdiction",
        "110000",
        "--unit-type",
        "state-university",
        "--mode",
        "licence",
        "--amount",
        "100000",
        "--contributors",
        "Li:3,Wang:1",
        "--date",
        "2024-06-01",
    )
    assert body["pool"] == "70000.00"
    assert body["contributors"] == [
        {"name": "Li", "weight": "3", "main": False, "amount": "52500.00"},
        {"name": "Wang", "weight": "1", "main": False, "amount": "17500.00"},
    ]
    applied = [rule for rule in body["rules"] if rule["applied"]]
    pool_rule = next(rule for rule in applied if rule["measure"] == "net_income")
    assert pool_rule["floor_percent"] == "70"
    assert "Art. 12" in pool_rule["source"]
    overridden = next(rule for rule in body["rules"] if rule["id"] == "CN-STL45-2-1")
    assert overridden["applied"] is False and overridden["overridden_by"] == "BJ-2019-12-3-1"
    main = next(rule for rule in body["rules"] if rule["measure"] == "main_contributors")
    assert main["unconfirmed"] is True and main["confidence"] == "S"


def test_json_output_for_equity_gives_share_counts() -> None:
    body = simulate_json(
        "--jurisdiction",
        "CN",
        "--unit-type",
        "state-institute",
        "--mode",
        "equity",
        "--amount",
        "1000",
        "--contributors",
        "Li:1,Wang:2",
        "--date",
        "2024-06-01",
    )
    assert body["unit"] == "shares"
    assert body["pool"] == 500
    assert [person["amount"] for person in body["contributors"]] == [167, 333]


def test_json_output_for_a_grant_flags_the_unconfirmed_start_of_the_2023_rules() -> None:
    body = simulate_json(
        "--jurisdiction",
        "CN",
        "--unit-type",
        "private-enterprise",
        "--mode",
        "grant",
        "--patent-type",
        "invention",
        "--contributors",
        "Li:1",
        "--date",
        "2024-02-01",
    )
    assert body["pool"] == "4000.00"
    assert body["pay_by"] == "2024-05-01"
    assert body["unconfirmed"] is True
    assert body["warnings"]


def test_the_table_output_names_the_pool_and_the_article() -> None:
    result = cli(
        "--jurisdiction",
        "CN",
        "--unit-type",
        "state-university",
        "--mode",
        "licence",
        "--amount",
        "1000",
        "--contributors",
        "Li:1",
        "--date",
        "2024-06-01",
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Reward pool: ¥500.00" in text
    assert "Art. 45" in text


def test_messages_are_chinese_by_default() -> None:
    args = ("--jurisdiction", "CN", "--unit-type", "state-university", "--mode", "licence")
    args += ("--amount", "1000", "--contributors", "李:1", "--date", "2024-06-01")
    result = cli(*args, lang="")
    assert result.exit_code == 0, result.output
    text = "".join(result.stdout.split())  # the table wraps long cells
    assert "奖励测算" in text and "奖励总额：¥500.00" in text
    body = json.loads(cli(*args, "--json", lang="").stdout)
    assert "第四十五条" in body["rules"][0]["source"]
    assert body["rules"][0]["force_label"] == "强制（不得低于）"


def test_bad_input_exits_non_zero_with_a_message_in_the_users_language() -> None:
    args = (
        "--jurisdiction",
        "XX",
        "--unit-type",
        "state-university",
        "--mode",
        "licence",
        "--amount",
        "1000",
        "--contributors",
        "Li:1",
    )
    english = cli(*args)
    assert english.exit_code == 2
    assert "not a jurisdiction" in english.stderr
    chinese = cli(*args, lang="zh")
    assert chinese.exit_code == 2
    assert "不是有效的适用地区" in chinese.stderr


def test_a_missing_option_is_named() -> None:
    result = cli("--jurisdiction", "CN", "--mode", "licence", "--contributors", "Li:1")
    assert result.exit_code == 2
    assert "--unit-type" in result.stderr


def test_a_refused_policy_exits_1_and_json_carries_the_message() -> None:
    result = cli(
        "--jurisdiction",
        "CN",
        "--unit-type",
        "state-university",
        "--mode",
        "licence",
        "--amount",
        "1000",
        "--contributors",
        "Li:1",
        "--policy",
        "30",
        "--json",
        "--date",
        "2024-06-01",
    )
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["error"] == "rule-violation"
    assert "Art. 45 ¶2" in body["messages"][0]

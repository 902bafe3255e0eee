"""The IP ledger in a real Chromium: an officer records a licence and its income and
distributes it, a second officer approves, and the inventor signs in and reads the statement;
an officer records a patent's fee reduction and its annual fees follow."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from tests.ip.ledger_support import Ledger, build_ledger

pytestmark = pytest.mark.browser


def test_licence_income_distribution_approval_and_the_inventors_statement(
    tabs: Any, database: Any
) -> None:
    from playwright.sync_api import expect

    ledger: Ledger = build_ledger(database)
    officer = tabs("ip-officer-a")
    officer.goto("/ip/assets")
    officer.get_by_role("link", name=re.compile("固态电解质膜")).click()
    expect(officer.locator("#asset-contributors")).to_contain_text("王发明")

    officer.get_by_role("link", name="新建交易").click()
    officer.select_option("#field-deal_type", "licence")
    officer.fill("#field-counterparty_name", "某某电池有限公司")
    officer.select_option("#field-licence_scope", "non-exclusive")
    officer.fill("#field-term_start", "2024-01-01")
    officer.fill("#field-term_end", "2028-12-31")
    officer.fill("#field-territory", "中国大陆")
    officer.fill("#field-price", "1000000.00")
    officer.select_option("#field-price_mode", "listing")
    officer.get_by_role("button", name="创建").click()
    expect(officer.locator("#deal-status")).to_have_text("草稿")

    officer.fill("#field-signed_on", "2024-01-15")
    officer.get_by_role("button", name="签订").click()
    expect(officer.locator("#deal-status")).to_have_text("已签订")

    officer.fill("#field-received_on", "2024-03-01")
    officer.fill("#field-amount", "100000.00")
    officer.fill("#field-deduction_taxes", "6000.00")
    officer.fill("#field-deduction_direct-costs", "4000.00")
    officer.locator("#income-form button[type=submit]").click()
    expect(officer.locator("#deal-income")).to_contain_text("¥90,000.00")

    officer.get_by_role("button", name="分配奖励").click()
    expect(officer.locator("#distribution-pool")).to_have_text("¥63,000.00")
    expect(officer.locator("#distribution-lines")).to_contain_text("¥47,250.00")
    officer.get_by_role("button", name="审批通过").click()  # the requester: refused
    expect(officer.locator("body")).to_contain_text("申请人以外")

    second = tabs("ip-officer2-a")
    second.goto(officer.url.replace("/approve", ""))
    second.get_by_role("button", name="审批通过").click()
    expect(second.locator("#distribution-status")).to_have_text("已审批")

    inventor = tabs("ip-inventor")
    inventor.goto("/ip/statement")
    expect(inventor.locator("h1")).to_have_text("我的奖励明细")
    expect(inventor.locator(".statement-payout")).to_contain_text("¥47,250.00")
    expect(inventor.locator(".statement-payout")).to_contain_text("已审批")
    expect(inventor.locator("body")).not_to_contain_text("15,750.00")
    expect(inventor.locator("body")).to_contain_text("BJ-2019-12-3-1")
    assert ledger.asset

    # The unit's own policy: below the binding national floor, refused citing the article.
    officer.goto("/ip/assets")
    officer.get_by_role("link", name="单位奖励办法").click()
    expect(officer.locator("#ip-floors")).to_contain_text("第四十五条第二款")
    officer.fill("#field-title", "甲大学奖励办法")
    officer.fill("#field-net_income_percent", "40")
    officer.get_by_role("button", name="添加办法").click()
    expect(officer.locator("#error-summary")).to_contain_text("第四十五条第二款")
    expect(officer.locator("#ip-policies")).to_have_count(0)


def test_an_officer_records_a_fee_reduction_and_the_fees_follow(tabs: Any, database: Any) -> None:
    from playwright.sync_api import expect

    from shelfbridge.ip.rules import add_months
    from tests import factories
    from tests.ip.ledger_support import acting_as

    ledger: Ledger = build_ledger(database)
    due = add_months(date.today(), 1)  # patent year 7 falls due a month from now
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        asset = factories.ip_asset(
            session,
            ledger.org_a,
            title="一种钠离子电池正极材料",
            filed_on=add_months(due, -72).isoformat(),
            status="granted",
            granted_on=add_months(due, -42).isoformat(),
        )
        asset_id = asset.id
    officer = tabs("ip-officer-a")
    officer.goto(f"/ip/assets/{asset_id}")
    expect(officer.locator("table.deadlines")).not_to_contain_text("已减缴")
    officer.select_option("#field-fee_reduction", "sole")
    officer.locator("#fee-reduction-form button[type=submit]").click()
    expect(officer.locator("#asset-fee-reduction")).to_have_text("已获费减（单一权利人）")
    expect(officer.locator("tr[data-kind=annual-fee]").first).to_contain_text("已减缴")
    expect(officer.locator("#field-fee_reduction")).to_have_value("sole")


def test_an_officer_records_a_posted_notice_from_its_presumed_receipt_and_extends_it(
    tabs: Any, database: Any
) -> None:
    from playwright.sync_api import expect

    ledger: Ledger = build_ledger(database)
    officer = tabs("ip-officer-a")
    officer.goto(f"/ip/assets/{ledger.asset}")
    form = officer.locator("#office-action-form")
    form.locator("select[name=kind]").select_option("examination")
    sent = date.today() - timedelta(days=10)
    form.locator("input[name=issued_on]").fill(sent.isoformat())
    form.locator("select[name=delivery]").select_option("post")
    form.locator("button[type=submit]").click()
    row = officer.locator("#office-actions tr[data-delivery=post]")
    expect(row.locator("td.received")).to_contain_text((sent + timedelta(days=15)).isoformat())
    expect(row.locator("td.received")).to_contain_text("推定")
    row.get_by_role("button", name="请求延长期限").click()
    expect(row.locator("td.due")).to_contain_text("已从")
    expect(row.locator("form.extend-form")).to_have_count(0)

"""Invention disclosures in a real Chromium: a researcher writes and submits a disclosure, an
officer takes it up, assesses it and decides to file, and the filing is a new IP asset with the
same inventors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.ip.ledger_support import build_ledger

pytestmark = pytest.mark.browser


def test_a_researcher_submits_and_an_officer_assesses_and_decides_to_file(
    tabs: Any, database: Any
) -> None:
    from playwright.sync_api import expect

    build_ledger(database)
    researcher = tabs("ip-inventor")
    researcher.goto("/ip/assets")
    researcher.get_by_role("link", name="发明披露").click()
    researcher.get_by_role("link", name="新建发明披露").click()
    researcher.fill("#field-title", "一种可降解电池隔膜及其制备方法")
    researcher.fill("#field-abstract", "以纤维素为基体制备隔膜，可自然降解。")
    researcher.fill("#field-contributors", "王发明@IP-PER-1:60:main\n李协作:30")
    researcher.get_by_role("button", name="保存草稿").click()
    expect(researcher.locator('[data-field="contributors"] .field-error')).to_contain_text("90%")
    researcher.fill("#field-contributors", "王发明@IP-PER-1:60:main\n李协作:40")
    researcher.get_by_role("button", name="保存草稿").click()
    expect(researcher.locator("#disclosure-status")).to_have_text("草稿")
    researcher.get_by_role("button", name="提交给技术转移办公室").click()
    expect(researcher.locator("#disclosure-status")).to_have_text("已提交")
    address = researcher.url

    officer = tabs("ip-officer-a")
    officer.goto("/ip/disclosures")
    officer.get_by_role("link", name="一种可降解电池隔膜及其制备方法").click()
    officer.get_by_role("button", name="开始评估").click()
    expect(officer.locator("#disclosure-status")).to_have_text("评估中")
    officer.get_by_role("link", name="评估", exact=True).click()
    officer.select_option("#field-novelty", "high")
    officer.select_option("#field-inventive_step", "medium")
    officer.select_option("#field-market_potential", "high")
    officer.select_option("#field-trl", "4")
    officer.select_option("#field-recommendation", "invention-patent")
    officer.get_by_role("button", name="提交评估意见").click()
    expect(officer.locator("#disclosure-status")).to_have_text("已评估")
    expect(officer.locator("#disclosure-recommendation")).to_have_text("申请发明专利")
    officer.get_by_role("link", name="作出决定").click()
    officer.select_option("#field-decision", "file")
    expect(officer.locator("#field-asset_kind")).to_have_value("invention-patent")
    officer.get_by_role("button", name="提交决定").click()
    expect(officer.locator("#disclosure-status")).to_have_text("已决定")
    officer.locator("#disclosure-asset").click()
    expect(officer).to_have_url(re.compile(r"/ip/assets/\d+$"))
    expect(officer.locator("#asset-contributors")).to_contain_text("王发明")
    expect(officer.locator("#asset-contributors")).to_contain_text("60")

    researcher.goto(address)
    expect(researcher.locator("#disclosure-decision")).to_contain_text("提出申请")
    expect(researcher.locator("#disclosure-assessment")).to_have_count(0)

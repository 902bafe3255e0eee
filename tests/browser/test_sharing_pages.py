"""Sharing grants in a real Chromium: an officer of university A shares a ``partners`` result
with enterprise E1, E1 then opens it, the officer withdraws the grant, and E1 gets 404."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import auth, factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_an_officer_shares_a_result_with_an_enterprise_and_withdraws_it(
    page: Any, browser: Any, live_server: str, database: Any
) -> None:
    from playwright.sync_api import expect

    with database.unit_of_work() as session:
        university = factories.organization(session, name="共享大学")
        enterprise = factories.enterprise(session, name="共享动力电池有限公司")
        result = factories.result(
            session,
            owner=university.external_id,
            confidentiality="partners",
            title="保密协议下的固态电池工艺",
        )
        path = f"/results/{result.id}"
    auth.create_user(database, "officer-a", memberships=[(university.external_id, "tto_officer")])
    auth.create_user(database, "user-e1", memberships=[(enterprise.external_id, "enterprise_user")])
    other = browser.new_context(base_url=live_server, locale="zh-CN")
    e1 = other.new_page()
    e1.set_default_timeout(10_000)
    try:
        sign_in(page, "officer-a")
        sign_in(e1, "user-e1")
        assert e1.goto(path).status == 404

        page.goto(path)
        sharing = page.locator("#sharing")
        expect(sharing).to_contain_text("尚未共享给任何机构")
        sharing.get_by_label("共享给").fill("共享动力电池有限公司")
        sharing.get_by_label("备注").fill("保密协议 2026-031")
        sharing.get_by_role("button", name="共享此记录").click()

        expect(page).to_have_url(re.compile(rf"{path}#sharing$"))
        expect(page.locator(".notice")).to_contain_text("该机构现在可以查看此记录")
        row = page.locator("#sharing tr[data-grant]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("共享动力电池有限公司")
        expect(row).to_contain_text("保密协议 2026-031")
        expect(row).to_contain_text("officer-a")

        assert e1.goto(path).status == 200
        expect(e1.locator("h1")).to_have_text("保密协议下的固态电池工艺")
        expect(e1.locator("#sharing")).to_have_count(0)  # the grantee never sees the grants

        row.get_by_role("button", name="撤回").click()
        expect(page.locator(".notice")).to_contain_text("授权已撤回")
        expect(page.locator("#sharing tr[data-grant]")).to_have_count(0)

        assert e1.goto(path).status == 404
    finally:
        other.close()

"""The registry pages in a real Chromium: browsing, forms with errors, import, language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests import factories

pytestmark = pytest.mark.browser


def _seed(database: Any) -> dict[str, Any]:
    with database.unit_of_work() as session:
        uni = factories.organization(session, name="清华大学")
        ent = factories.enterprise(session, name="深圳动力电池有限公司")
        paper = factories.result(
            session, kind="paper", trl=3, title="面向储能的固态电解质研究", owner=uni.external_id
        )
        for n in range(24):
            factories.result(session, title=f"一种电池管理方法{n:02d}", trl=5)
        patent = factories.result(
            session, kind="invention_patent", trl=6, contributors="张三:60;李四:40"
        )
        return {"paper": paper.id, "patent": patent.id, "ent_ext": ent.external_id}


def test_browse_results_filter_without_reload_and_open_one(page: Any, database: Any) -> None:
    from playwright.sync_api import expect

    ids = _seed(database)
    page.goto("/results")
    expect(page.locator("h1")).to_have_text("成果")
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "26")
    expect(page.locator("table.records tbody tr")).to_have_count(20)

    page.evaluate("window.__marker = 'same page'")  # survives htmx swaps, not reloads
    page.select_option("#filter-kind", "paper")
    expect(page).to_have_url(re.compile(r"/results\?kind=paper$"))
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "1")
    assert page.evaluate("window.__marker") == "same page"

    page.select_option("#filter-kind", "")
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "26")
    page.locator(".pager a", has_text="2").first.click()
    expect(page).to_have_url(re.compile(r"/results\?page=2$"))
    expect(page.locator("table.records tbody tr")).to_have_count(6)
    assert page.evaluate("window.__marker") == "same page"

    page.goto("/results?kind=paper")
    page.get_by_role("link", name="面向储能的固态电解质研究").click()
    expect(page).to_have_url(re.compile(rf"/results/{ids['paper']}$"))
    expect(page.locator("h1")).to_have_text("面向储能的固态电解质研究")
    expect(page.locator("#history")).to_contain_text("新建")


def test_demand_with_invalid_budget_shows_the_message_next_to_the_field(
    admin_page: Any, database: Any
) -> None:
    from playwright.sync_api import expect

    page = admin_page
    ids = _seed(database)
    page.goto("/demands/new")
    suggestions = page.locator("#dl-organizations-enterprise option")
    page.fill("#field-enterprise", "没有这家公司")  # suggestions follow what is typed (htmx)
    expect(suggestions).to_have_count(0)
    page.fill("#field-enterprise", "深圳")
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_have_attribute("value", ids["ent_ext"])
    page.fill("#field-enterprise", ids["ent_ext"])
    page.fill("#field-title", "寻求高精度压力传感器")
    page.fill("#field-description", "精度千分之一。")
    page.fill("#field-budget_min", "abc")
    page.fill("#field-budget_max", "100000")
    page.get_by_role("button", name="保存").click()

    field = page.locator('.form-field[data-field="budget_min"]')
    expect(field).to_have_class(re.compile(r"has-error"))
    expect(field.locator(".field-error")).to_contain_text("金额格式无效")
    expect(page.locator("#field-budget_min")).to_have_value("abc")
    expect(page.locator("#field-title")).to_have_value("寻求高精度压力传感器")
    expect(page.locator('.form-field[data-field="title"] .field-error')).to_have_count(0)
    expect(page.locator("#error-summary")).to_be_visible()

    page.fill("#field-budget_min", "50000")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/demands/\d+$"))
    expect(page.locator(".notice")).to_contain_text("记录已创建")


def test_a_persons_research_profile_is_written_in_the_form_and_shown_on_the_page(
    admin_page: Any, database: Any
) -> None:
    from playwright.sync_api import expect

    page = admin_page
    page.goto("/people/new")
    page.fill("#field-name", "王研究员")
    expect(page.locator("textarea#field-profile")).to_be_visible()
    page.fill("#field-profile", "长" * 5001)
    page.get_by_role("button", name="保存").click()
    field = page.locator('.form-field[data-field="profile"]')
    expect(field).to_have_class(re.compile(r"has-error"))
    expect(field.locator(".field-error")).to_contain_text("5000")
    page.fill("#field-profile", "研究方向：固态电池界面工程。主持国家重点研发计划项目一项。")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    section = page.locator("section.card", has=page.locator("h2", has_text="研究方向与简介"))
    expect(section).to_contain_text("固态电池界面工程")


def test_import_with_a_bad_row_shows_row_column_and_reason(
    admin_page: Any, database: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = admin_page
    ids = _seed(database)
    upload = tmp_path / "demands.csv"
    upload.write_text(
        "external_id,enterprise,title,description,budget_min\n"
        f"D-1,{ids['ent_ext']},需求一,描述一,1000\n"
        f"D-2,{ids['ent_ext']},需求二,描述二,一千元\n",
        encoding="utf-8",
    )
    page.goto("/import")
    page.select_option("#import-kind", "demands")
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="检查并导入").click()

    report = page.locator('[data-outcome="rejected"]')
    expect(report).to_be_visible()
    expect(report).to_contain_text("未导入任何数据")
    row = report.locator("tbody tr").first
    expect(row.locator("td").nth(0)).to_have_text("3")
    expect(row.locator("td").nth(1)).to_have_text("budget_min")
    expect(row.locator("td").nth(2)).to_contain_text("金额格式无效")
    expect(page).to_have_url(re.compile(r"/import$"))

    upload.write_text(
        f"external_id,enterprise,title,description\nD-1,{ids['ent_ext']},需求一,描述一\n",
        encoding="utf-8",
    )
    page.set_input_files("#import-file", str(upload))
    page.get_by_role("button", name="检查并导入").click()
    expect(page.locator('[data-outcome="imported"] [data-count="created"]')).to_have_text("1")


def test_language_switch_shows_english_and_keeps_the_filters(page: Any, database: Any) -> None:
    from playwright.sync_api import expect

    _seed(database)
    page.goto("/results?kind=paper")
    expect(page.locator("h1")).to_have_text("成果")
    page.locator('.language-switch a[data-lang="en"]').click()
    expect(page.locator("h1")).to_have_text("Results")
    expect(page).to_have_url(re.compile(r"/results\?kind=paper&lang=en$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#filter-kind option:checked")).to_have_text("Paper")

    page.select_option("#filter-trl_min", "2")  # an htmx swap; the links follow the URL
    expect(page).to_have_url(re.compile(r"trl_min=2"))
    page.locator('.language-switch a[data-lang="zh"]').click()
    expect(page.locator("h1")).to_have_text("成果")
    expect(page).to_have_url(re.compile(r"kind=paper&trl_min=2&lang=zh$"))
    page.goto("/demands")  # the choice is remembered
    expect(page.locator("h1")).to_have_text("技术需求")


def test_signing_in_and_out_through_the_header(page: Any, database: Any) -> None:
    from playwright.sync_api import expect

    from tests import auth

    auth.create_user(database, "browser-user", display_name="浏览器用户")
    page.goto("/results")
    page.locator(".account-menu a", has_text="登录").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/results$"))
    page.fill("#login-username", "browser-user")
    page.fill("#login-password", "a-wrong-password-1")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
    page.fill("#login-password", auth.PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/results$"))
    expect(page.locator(".account-menu .account-link")).to_have_text("浏览器用户")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login\?done=signed_out$"))
    expect(page.locator(".notice")).to_contain_text("您已退出登录")
    expect(page.locator(".account-menu .account-link")).to_have_count(0)

"""The matching pages in a real Chromium: a free-text search with its matched terms marked, a
demand's matches with their explanations and feedback buttons, and the feedback reaching the
owner of the matched result and nobody else. The first two run on the deterministic stand-in
of tests/matching/feedback_support.py (the pages apart from the ranking), the last on the
service itself."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shelfbridge.matching.types import Target
from tests.browser.conftest import sign_in
from tests.matching.feedback_support import Cast, build_cast, install_fake_matches

pytestmark = pytest.mark.browser
COMMENT = "需要中试数据再谈"


@pytest.fixture
def cast(database: Any, monkeypatch: pytest.MonkeyPatch) -> Cast:
    install_fake_matches(monkeypatch)
    # The highlighter's word segmenter loads in seconds: once, before any page waits on it.
    from shelfbridge.matching.analysis import default_analyzer

    default_analyzer().terms("电池")
    return build_cast(database)


def test_an_enterprise_user_searches_free_text_and_sees_the_matched_terms(
    page: Any, cast: Cast
) -> None:
    from playwright.sync_api import expect

    sign_in(page, "user-e1")
    page.get_by_role("link", name="智能匹配").click()
    expect(page.locator("h1")).to_have_text("智能匹配")
    page.evaluate("window.__marker = 'same page'")  # survives htmx swaps, not reloads
    page.fill("#match-q", "低温电池")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(re.compile(r"/match\?q=%E4%BD%8E%E6%B8%A9%E7%94%B5%E6%B1%A0$"))
    first = page.locator(".hit").first
    expect(first.locator(".hit-title")).to_have_text("1. 低温锂电池电解液添加剂")
    expect(first.locator(".hit-title mark")).to_have_text(["低温", "电池"])
    expect(first.locator(".passages mark")).to_have_text(["电池"])
    expect(first.locator(".signal[data-signal=lexical] dt")).to_have_text("共同词语")
    expect(first.locator(".explanation .expanded")).to_contain_text("储能")
    expect(first.locator("button", has_text="有意向")).to_be_visible()

    page.locator(".match-tab", has_text="需求").click()  # another target, same page
    expect(page).to_have_url(re.compile(r"target=demands"))
    titles = page.locator(".hit .hit-title a")
    expect(titles).to_have_text(["内部低温需求", "寻求动力电池低温性能提升技术"])  # E1's own
    expect(page.locator("#match-kind")).to_be_disabled()
    assert page.evaluate("window.__marker") == "same page"


def test_feedback_on_a_demands_match_reaches_the_results_owner_and_nobody_else(
    page: Any, cast: Cast, tabs: Any
) -> None:
    from playwright.sync_api import expect

    sign_in(page, "user-e1")
    page.goto(f"/demands/{cast.ids['demand_e1']}")
    expect(page.locator("h1")).to_have_text("寻求动力电池低温性能提升技术")
    results = page.locator(".match-group[data-group=results]")
    expect(results.locator("h2")).to_contain_text("匹配的成果")  # loaded after the page
    hit = results.locator(f".hit[data-id='{cast.ids['result_a']}']")
    expect(hit.locator(".hit-title mark").first).to_have_text("低温")
    expect(hit.locator(".passages")).to_contain_text("零下二十度")
    expect(hit.locator(".signal")).to_have_count(2)

    hit.locator("select.feedback-reason").select_option("too_early_stage")
    hit.locator("input.feedback-comment").fill(COMMENT)
    hit.get_by_role("button", name="记录原因").click()
    widget = hit.locator(".feedback")
    expect(widget.locator(".notice")).to_have_text("您的反馈已记录。")
    expect(widget.locator(".feedback-mine")).to_contain_text("技术阶段过早")
    expect(widget.locator(".feedback-mine")).to_contain_text(COMMENT)

    owner = tabs("officer-a")
    owner.goto(f"/results/{cast.ids['result_a']}")
    received = owner.locator("#feedback")
    expect(received.locator("tr[data-verdict=too_early_stage]")).to_have_count(1)
    expect(received).to_contain_text(COMMENT)
    expect(received).to_contain_text("一号电池公司")
    expect(received).to_contain_text("技术阶段过早")

    rival = tabs("user-e2")
    rival.goto(f"/results/{cast.ids['result_a']}")
    expect(rival.locator("#feedback")).to_contain_text("没有您可查看的反馈。")
    expect(rival.locator("#matches .match-group").first).to_be_visible()
    assert COMMENT not in rival.content()


def test_search_and_a_demands_matches_on_the_real_engine(
    page: Any, database: Any, settings: Any
) -> None:
    """No stand-in: the service ranks (with the tests' small embedder) behind a real server."""
    from playwright.sync_api import expect

    from tests.matching.engine_support import make_engine

    cast = build_cast(database)
    runtime = make_engine(settings, database)
    try:
        runtime.ensure_ready(Target.RESULTS)  # build the index before the pages
        sign_in(page, "user-e1")
        page.goto("/match")
        page.fill("#match-q", "锂电池电解液")
        page.get_by_role("button", name="搜索").click()
        hit = page.locator(f".hit[data-id='{cast.ids['result_a']}']")
        expect(hit.locator(".hit-title mark").first).to_be_visible()
        expect(page.locator("#match-region")).not_to_contain_text("内部电池成果")
        page.goto(f"/demands/{cast.ids['demand_e1']}")
        expect(page.locator(".match-group[data-group=results] h2")).to_contain_text("匹配的成果")
        expect(
            page.locator(".match-group[data-group=results] .feedback-form").first
        ).to_be_visible()
    finally:
        runtime.close()

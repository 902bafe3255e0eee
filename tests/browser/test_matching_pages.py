"""The matching pages in a real Chromium, on the real engine (the embedded index under the
test's data directory, the real matcher and runtime, the test embedder of
tests/matching/engine_support.py): a free-text search with its matched terms marked, a
demand's matches with their explanations and feedback buttons, and the feedback reaching the
owner of the matched result and nobody else. The world is tests/matching/feedback_support.py's:
five public results about low-temperature lithium batteries, records on other topics that
must rank below them, and internal records that only their owners may see."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.matching.engine_support import engine  # noqa: F401 - fixture
from tests.matching.feedback_support import Cast, add_match_world, build_cast

pytestmark = pytest.mark.browser
COMMENT = "需要中试数据再谈"


@pytest.fixture
def cast(app: Any, database: Any, engine: Any) -> Cast:  # noqa: F811
    # The highlighter's word segmenter loads in seconds: once, before any page waits on it.
    from shelfbridge.matching.analysis import default_analyzer

    default_analyzer().terms("电池")
    built = add_match_world(database, build_cast(database))
    engine.rebuild()  # the index, before the pages (a first match would build it)
    return built


def test_an_enterprise_user_searches_free_text_and_sees_the_matched_terms(
    page: Any, cast: Cast
) -> None:
    from playwright.sync_api import expect

    sign_in(page, "user-e1")
    page.get_by_role("link", name="智能匹配").click()
    expect(page.locator("h1")).to_have_text("智能匹配")
    page.evaluate("window.__marker = 'same page'")  # survives htmx swaps, not reloads
    page.fill("#match-q", "低温锂电池")
    page.get_by_role("button", name="搜索").click()
    expect(page).to_have_url(
        re.compile(r"/match\?q=%E4%BD%8E%E6%B8%A9%E9%94%82%E7%94%B5%E6%B1%A0$")
    )
    hits = page.locator(".hit")
    expect(hits).to_have_count(11)  # the five battery results, then six on other topics
    top = {int(hits.nth(n).get_attribute("data-id")) for n in range(5)}
    assert top == cast.batteries()
    expect(page.locator("#match-region")).not_to_contain_text("内部电池成果")  # A's internal
    mine = page.locator(f".hit[data-id='{cast.ids['result_a']}']")
    expect(mine.locator(".hit-title a")).to_have_text("低温锂电池电解液添加剂")
    expect(mine.locator(".hit-title mark")).to_have_text(["低温", "锂电池"])
    expect(mine.locator(".passages")).to_contain_text("零下二十度保持八成容量")
    expect(mine.locator(".passages mark").first).to_have_text("锂电池")
    expect(mine.locator(".signal[data-signal=lexical] dt")).to_have_text("共同词语")
    expect(mine.locator(".signal[data-signal=semantic] dt")).to_have_text("语义相近")
    expect(mine.locator(".explanation .expanded")).to_contain_text("零下")
    expect(mine.locator("button", has_text="有意向")).to_be_visible()
    wheat = page.locator(f".hit[data-id='{cast.ids['result_wheat']}']")
    expect(wheat.locator(".hit-title")).to_contain_text("抗旱小麦分子育种方法")
    expect(wheat.locator("mark")).to_have_count(0)

    page.locator(".match-tab", has_text="需求").click()  # another target, same page
    expect(page).to_have_url(re.compile(r"target=demands"))
    titles = page.locator(".hit .hit-title a")
    expect(titles.first).to_have_text("寻求动力电池低温性能提升技术")
    expect(titles).to_have_count(8)  # E1's two (its internal one too) and E2's six
    expect(page.locator(".hit-title", has_text="内部低温需求")).to_have_count(1)
    expect(page.locator("#match-kind")).to_be_disabled()
    assert page.evaluate("window.__marker") == "same page"


def test_exact_match_keeps_the_records_that_hold_the_words_as_typed(page: Any, cast: Cast) -> None:
    from playwright.sync_api import expect

    sign_in(page, "user-e1")
    page.goto("/match?q=低温锂电池")
    expect(page.locator(".hit")).to_have_count(11)
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("精确匹配").check()  # the form searches again on a change
    expect(page).to_have_url(re.compile(r"exact=1"))
    hits = page.locator(".hit")
    # 低温锂电池 whole: not the storage heater (锂电池…低温) nor anything on other topics
    expect(hits).to_have_count(4)
    shown = {int(hits.nth(n).get_attribute("data-id")) for n in range(4)}
    assert shown == {cast.ids[k] for k in ("result_a", "result_paper", "result_chemistry")} | {
        cast.ids["result_shanghai"]
    }
    expect(page.locator(".list-summary")).to_contain_text("精确匹配")
    page.fill("#match-q", "低温钠电池")
    page.get_by_role("button", name="搜索").click()
    expect(page.locator(".empty")).to_contain_text("没有记录原样包含“低温钠电池”")
    page.get_by_label("精确匹配").uncheck()
    expect(page.locator(".hit").first).to_be_visible()  # by meaning, the batteries again
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
    expect(results.locator(".hit").first).to_have_attribute("data-id", str(cast.ids["result_a"]))
    expect(results.locator(".hit")).to_have_count(5)  # the battery results, nothing else
    hit = results.locator(f".hit[data-id='{cast.ids['result_a']}']")
    expect(hit.locator(".hit-title mark").first).to_have_text("低温")
    expect(hit.locator(".passages")).to_contain_text("零下二十度")
    expect(hit.locator(".signal[data-signal=lexical]")).to_have_count(1)
    expect(hit.locator(".signal[data-signal=semantic]")).to_have_count(1)
    experts = page.locator(".match-group[data-group=people] .hit")
    expect(experts.first).to_have_attribute("data-id", str(cast.ids["expert_a"]))
    expect(experts.first.locator(".feedback-form")).to_be_visible()

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
    demands = owner.locator("#matches .match-group[data-group=demands] .hit")
    expect(demands.first).to_have_attribute("data-id", str(cast.ids["demand_e1"]))

    rival = tabs("user-e2")
    rival.goto(f"/results/{cast.ids['result_a']}")
    expect(rival.locator("#feedback")).to_contain_text("没有您可查看的反馈。")
    expect(rival.locator("#matches .match-group").first).to_be_visible()
    assert COMMENT not in rival.content()

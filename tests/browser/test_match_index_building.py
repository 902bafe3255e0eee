"""The first build of the match index in a real Chromium: the search page opened while the build
is held open shows a progress bar that follows the build (htmx polls /match/index-status),
and once the build is released the page reloads by itself and shows the matches.

Real server, real runtime and build thread, the test embedder; the build stands in its fit
until the test releases it (tests/matching/building_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.matching.building_support import HeldEmbedder, held_runtime
from tests.matching.engine_support import Tenants, build_tenants

pytestmark = pytest.mark.browser


@pytest.fixture
def world(app: Any, database: Any) -> Tenants:
    # The highlighter's word segmenter loads in seconds: once, before any page waits on it.
    from shelfbridge.matching.analysis import default_analyzer

    default_analyzer().terms("电池")
    return build_tenants(database)


@pytest.fixture
def held(settings: Any, database: Any, app: Any) -> Iterator[HeldEmbedder]:
    embedder = HeldEmbedder()
    runtime = held_runtime(settings, database, wait=0.2, embedder=embedder)
    yield embedder
    embedder.released.set()
    runtime.close()


def test_the_search_page_shows_the_build_progress_and_reloads_with_the_matches(
    page: Any, world: Tenants, held: HeldEmbedder
) -> None:
    from playwright.sync_api import expect

    page.goto("/match?q=锂电池正极材料")
    panel = page.locator("#index-building")
    expect(panel.locator("h2")).to_have_text("正在建立匹配索引")
    assert held.entered.wait(30)
    bar = panel.locator("progress")
    expect(bar).to_have_attribute("value", "50")  # the poll brought the build's progress
    expect(bar).to_have_attribute("max", "100")
    expect(panel.locator(".build-phase")).to_contain_text("正在学习文本的词汇")
    expect(panel.locator(".build-phase .percent")).to_have_text("50%")
    expect(page.locator(".hit")).to_have_count(0)
    page.evaluate("window.__marker = 'before the reload'")

    held.released.set()
    hit = page.locator(f".hit[data-id='{world.records['result_public']}']")
    expect(hit.locator(".hit-title a")).to_have_text("一种锂电池正极材料的制备方法")
    expect(page.locator("#index-building")).to_have_count(0)
    assert page.evaluate("window.__marker") is None  # the page itself was reloaded
    assert page.url.endswith(
        "/match?q=%E9%94%82%E7%94%B5%E6%B1%A0%E6%AD%A3%E6%9E%81%E6%9D%90%E6%96%99"
    )

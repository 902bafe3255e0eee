"""The matching pages on the real engine (the embedded index under the test's data directory,
the real matcher and runtime, the test embedder of tests/matching/engine_support.py): the
search page with its matched terms marked and its filters, and the match sections of demands
and results (loaded by htmx after the record page). The world is
tests/matching/feedback_support.py's: five public results about low-temperature lithium
batteries, records on other topics that must rank below them, and internal records that only
their owners may see. The feedback forms are in test_feedback_pages.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.matching.engine_support import engine  # noqa: F401 - fixture
from tests.matching.feedback_support import (
    HTMX,
    Cast,
    add_match_world,
    build_cast,
    card,
    group,
    hit_ids,
    signed_in,
)


@pytest.fixture
def cast(app: Any, database: Any, engine: Any) -> Cast:  # noqa: F811
    """The world, with the engine attached after the app (so that the pages use it); the
    index is built by the first match, as in production."""
    return add_match_world(database, build_cast(database))


def test_the_search_page_marks_the_matched_terms_and_explains_each_hit(
    app: Any, cast: Cast
) -> None:
    client = signed_in(app, "user-e1")
    page = client.get("/match", params={"q": "低温锂电池"})
    assert page.status_code == 200
    html = page.text
    assert '<meta charset="utf-8">' in html
    shown = hit_ids(html, "results")
    # The five battery results first, then the other topics; A's internal one is not E1's.
    assert set(shown[:5]) == cast.batteries()
    assert set(shown[5:]) == cast.unrelated("result")
    assert cast.ids["result_a_internal"] not in shown and "内部电池成果" not in html
    mine = card(html, "results", cast.ids["result_a"])
    assert "<mark>低温</mark><mark>锂电池</mark>电解液添加剂" in mine  # the title
    assert "使<mark>锂电池</mark>在零下二十度保持八成容量" in mine  # a passage
    assert '<mark class="term">低温</mark>' in mine and '<mark class="term">锂电池</mark>' in mine
    assert 'data-signal="lexical"' in mine and "共同词语" in mine and "语义相近" in mine
    # Pseudo-relevance feedback added words of the battery results the query did not name.
    assert "扩展检索词" in mine and '<span class="term">零下</span>' in mine
    assert 'name="source_kind" value="query"' in mine  # E1 may give feedback
    assert 'name="query" value="低温锂电池"' in mine
    # An unrelated result is shown below, with nothing to mark.
    wheat = card(html, "results", cast.ids["result_wheat"])
    assert "抗旱小麦分子育种方法" in wheat and "<mark" not in wheat
    anonymous = signed_in(app, None).get("/match", params={"q": "低温锂电池"}).text
    assert set(hit_ids(anonymous)[:5]) == cast.batteries()
    assert "<mark>低温</mark>" in anonymous
    assert 'action="/match/feedback"' not in anonymous


def test_every_signal_of_a_real_hit_is_labelled_in_both_languages(app: Any, cast: Cast) -> None:
    client = signed_in(app, "user-e1")
    shown: dict[str, set[str]] = {}
    for lang in ("zh", "en"):
        html = client.get("/match", params={"q": "低温锂电池", "lang": lang}).text
        pairs = re.findall(r'data-signal="([a-z]+)">\s*<dt>([^<]*)</dt>', html)
        assert pairs, "no signal shown"
        shown[lang] = {label for _, label in pairs}
        # the ranking's own names never reach the page: each has a label
        assert not {name for name, label in pairs if label == name}
    assert {"neighbours"} <= {name for name, _ in pairs}  # the smoothing signal is explained
    assert shown["zh"].isdisjoint(shown["en"])  # and translated


def test_the_search_page_without_a_query_asks_for_one_and_matches_nothing(
    app: Any,
    cast: Cast,
    engine: Any,  # noqa: F811
) -> None:
    page = signed_in(app, None).get("/match")
    assert page.status_code == 200
    assert "输入您要找的内容" in page.text
    assert hit_ids(page.text) == []
    assert not engine.is_built()  # nothing asked the engine (its first match builds the index)
    english = signed_in(app, None).get("/match?lang=en")
    assert "Type what you are looking for and press Search." in english.text
    assert 'href="/match"' in english.text  # the site navigation links to it


def test_filter_changes_answer_with_the_results_region_and_push_the_url(
    app: Any, cast: Cast
) -> None:
    client = signed_in(app, "user-e1")
    everywhere = client.get("/match", params={"q": "低温", "target": "demands"}, headers=HTMX)
    assert cast.ids["demand_wheat"] in hit_ids(everywhere.text, "demands")  # E2's, in Beijing
    response = client.get(
        "/match",
        params={"q": "低温", "target": "demands", "kind": "paper", "region": "440000"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "<html" not in response.text and "<mark>" in response.text
    assert (
        response.headers["HX-Push-Url"]
        == "/match?q=%E4%BD%8E%E6%B8%A9&target=demands&region=440000"
    )
    # Only E1's demands are in Guangdong (both: E1 sees its internal one); a result kind means
    # nothing for demands, so it filters nothing out.
    assert sorted(hit_ids(response.text, "demands")) == sorted(
        [cast.ids["demand_e1"], cast.ids["demand_e1_internal"]]
    )
    # The kind filter follows the target (demands have no kind) out of band.
    assert re.search(r'id="match-kind-filter" hx-swap-oob="true"', response.text)
    assert re.search(r'<select id="match-kind" name="kind" disabled>', response.text)


# Each filter leaves out the one battery result that differs from result_a in it.
@pytest.mark.parametrize(
    ("params", "left_out"),
    [
        ({"kind": "invention_patent"}, "result_paper"),
        ({"trl_min": "7", "trl_max": "3"}, "result_trl8"),  # a reversed range is turned round
        ({"discipline": "材料科学"}, "result_chemistry"),
        ({"region": "110000"}, "result_shanghai"),
        ({"cluster": "jingjinji"}, "result_shanghai"),
        ({"org_kind": "not-a-kind"}, None),  # a value that cannot be right is left out
    ],
)
def test_each_filter_of_the_search_page_leaves_out_the_results_outside_it(
    app: Any, cast: Cast, params: dict[str, str], left_out: str | None
) -> None:
    client = signed_in(app, None)
    unfiltered = client.get("/match", params={"q": "低温锂电池"})
    assert set(hit_ids(unfiltered.text)) >= cast.batteries()
    page = client.get("/match", params={"q": "低温锂电池", **params})
    assert page.status_code == 200 and 'class="error"' not in page.text
    shown = set(hit_ids(page.text, "results"))
    kept = cast.batteries() - ({cast.ids[left_out]} if left_out else set())
    assert kept <= shown
    if left_out:
        assert cast.ids[left_out] not in shown


def test_the_filters_together_keep_what_passes_every_one(app: Any, cast: Cast) -> None:
    page = signed_in(app, None).get(
        "/match",
        params={
            "q": "低温锂电池",
            "kind": "invention_patent",
            "trl_min": "7",
            "trl_max": "3",
            "discipline": "材料科学",
            "cluster": "jingjinji",
            "region": "110000",  # Beijing, inside the Jing-Jin-Ji cluster
            "org_kind": "not-a-kind",
        },
    )
    assert hit_ids(page.text) == [cast.ids["result_a"]]
    assert 'data-hits="1"' in page.text


def test_a_demand_page_loads_its_matches_after_the_page(
    app: Any,
    cast: Cast,
    engine: Any,  # noqa: F811
) -> None:
    client = signed_in(app, "user-e1")
    demand = cast.ids["demand_e1"]
    page = client.get(f"/demands/{demand}")
    assert page.status_code == 200
    assert f'hx-get="/demands/{demand}/matches" hx-trigger="load"' in page.text
    assert f'hx-get="/demands/{demand}/feedback"' in page.text
    assert not engine.is_built()  # the record page itself never waits for the matcher
    section = client.get(f"/demands/{demand}/matches", headers=HTMX)
    assert section.status_code == 200
    html = section.text
    assert "匹配的成果" in html and "专家" in html and "实验室与研究机构" in html
    # Results: the five about low-temperature batteries fill the section, the one that keeps
    # eight tenths of its capacity at minus twenty degrees first, as the demand asks.
    results = hit_ids(group(html, "results"))
    assert results[0] == cast.ids["result_a"] and set(results) == cast.batteries()
    # Experts: A's expert in low-temperature lithium batteries first.
    assert hit_ids(group(html, "people"))[0] == cast.ids["expert_a"]
    # Labs: the three with battery results above the agricultural university; no enterprise.
    labs = hit_ids(group(html, "organizations"))
    assert set(labs[:3]) == {cast.orgs[k] for k in "abc"} and labs[3:] == [cast.orgs["d"]]
    widget = card(html, "results", cast.ids["result_a"])
    assert f'id="fb-results-{cast.ids["result_a"]}"' in widget
    assert 'name="source_kind" value="demands"' in widget
    assert f'name="source_id" value="{demand}"' in widget
    assert "技术阶段过早" in widget  # the reason select
    assert "<mark>零下</mark><mark>二十度</mark>" in widget  # the passage the demand asks for
    expert = card(html, "people", cast.ids["expert_a"])
    assert '<mark class="term">低温</mark>' in expert and 'data-signal="semantic"' in expert
    assert f'id="fb-people-{cast.ids["expert_a"]}"' in expert
    lab = card(html, "organizations", cast.orgs["a"])
    assert '<mark class="term">低温</mark>' in lab and "甲大学" in lab
    assert f'id="fb-organizations-{cast.orgs["a"]}"' in lab
    # Neither a hidden record nor anything to give feedback with for others.
    assert "内部电池成果" not in html
    researcher = signed_in(app, "researcher-a").get(f"/demands/{demand}/matches").text
    assert hit_ids(group(researcher, "results"))[0] == cast.ids["result_a"]
    assert 'action="/match/feedback"' not in researcher
    assert "企业用户可以对这些匹配结果记录反馈" in researcher


def test_a_result_page_shows_the_demands_and_enterprises_it_fits(app: Any, cast: Cast) -> None:
    client = signed_in(app, "officer-a")
    section = client.get(f"/results/{cast.ids['result_a']}/matches", headers=HTMX)
    assert section.status_code == 200
    html = section.text
    assert "适配的需求" in html
    demands = hit_ids(group(html, "demands"))
    assert demands[0] == cast.ids["demand_e1"]  # the low-temperature battery demand
    assert set(demands[1:]) <= cast.unrelated("demand")
    assert cast.ids["demand_e1_internal"] not in demands  # E1's internal demand
    assert "内部低温需求" not in html
    plain = re.sub(r"</?mark>", "", html)
    assert "寻求动力电池低温性能提升技术" in plain
    # Enterprises only (no university, no institute): E1, whose demand it fits, first.
    enterprises = hit_ids(group(html, "organizations"))
    assert enterprises == [cast.orgs["e1"], cast.orgs["e2"]]


def test_a_user_never_sees_a_record_they_may_not_see(app: Any, cast: Cast) -> None:
    internal, own_demand = cast.ids["result_a_internal"], cast.ids["demand_e1_internal"]
    officer = signed_in(app, "officer-a").get("/match", params={"q": "电池"}).text
    assert internal in hit_ids(officer, "results")  # A's own internal result
    for who in (None, "user-e1", "user-e2", "officer-b"):
        page = signed_in(app, who).get("/match", params={"q": "电池"}).text
        assert set(hit_ids(page)) >= cast.batteries(), who
        assert internal not in hit_ids(page) and "内部电池成果" not in page, who
    e1 = signed_in(app, "user-e1")
    assert own_demand in hit_ids(e1.get("/match?q=低温&target=demands").text)
    result_matches = e1.get(f"/results/{cast.ids['result_a']}/matches").text
    assert own_demand in hit_ids(group(result_matches, "demands"))
    for who in (None, "user-e2", "officer-a"):
        client = signed_in(app, who)
        assert own_demand not in hit_ids(client.get("/match?q=低温&target=demands").text), who
        section = client.get(f"/results/{cast.ids['result_a']}/matches").text
        assert own_demand not in hit_ids(section) and "内部低温需求" not in section, who


def test_matches_of_a_record_the_caller_cannot_see_answer_404(
    app: Any,
    cast: Cast,
    engine: Any,  # noqa: F811
) -> None:
    hidden = cast.ids["demand_e1_internal"]
    assert signed_in(app, "user-e2").get(f"/demands/{hidden}/matches").status_code == 404
    assert signed_in(app, None).get(f"/demands/{hidden}/matches").status_code == 404
    assert signed_in(app, "user-e2").get(f"/demands/{hidden}/feedback").status_code == 404
    assert not engine.is_built()  # refused before anything was matched
    assert signed_in(app, "user-e1").get(f"/demands/{hidden}/matches").status_code == 200

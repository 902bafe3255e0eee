"""Exact mode: a search that lists only the records holding what was typed (every word, each
run of Chinese characters whole), ranked as usual among them; in the matcher over the real
embedded index, and through the API, the search page and the CLI with two tenants' records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.matching.ranking import Matcher
from shelfbridge.matching.types import MatchAttributes, MatchFilters, Scope, Target
from tests import auth
from tests.matching.engine_support import (
    Tenants,
    build_tenants,
    cli_invoker,
    engine,  # noqa: F401 - fixture
)
from tests.matching.ranking_support import static_matcher

T = Target.RESULTS
ALL = Scope(unrestricted=True)
PUBLIC = Scope()
TEXTS = {
    1: "石墨烯复合电极的制备与性能。",
    2: "石墨炉原子吸收光度法测定微量铝。",
    3: "氧化石墨烯薄膜的光电性能。",
    4: "碳纳米管与石墨烯导热材料的比较研究。",
    5: "锂离子电池隔膜涂层工艺。",
    6: "Lithium batteries for electric vehicles.",
    7: "锂电池正极材料 lithium battery cathode",
    8: "机密：石墨烯电池配方。",  # another organisation's internal record
}


def _matcher(tmp_path: Path, *, grams: bool = True) -> Matcher:
    return static_matcher(
        tmp_path / "ix",
        TEXTS,
        grams=grams,
        attributes=lambda i: MatchAttributes(
            confidentiality="internal" if i == 8 else "public",
            owner_org_id=99 if i == 8 else None,
            kind="paper" if i in (3, 4) else "patent",
        ),
    )


@pytest.fixture
def matcher(tmp_path: Path) -> Matcher:
    return _matcher(tmp_path)


def _ids(matcher: Matcher, text: str, *, exact: bool = True, **kw: Any) -> list[int]:
    filters = kw.pop("filters", MatchFilters())
    scope = kw.pop("scope", PUBLIC)
    return [h[0] for h in matcher.search(T, text, filters, scope, 10, exact=exact)]


def test_only_the_records_holding_the_term_are_listed(matcher: Matcher) -> None:
    default = _ids(matcher, "石墨烯", exact=False)
    assert 2 in default  # 石墨炉 shares 石墨, and the embedding finds everything near
    exact = _ids(matcher, "石墨烯")
    assert sorted(exact) == [1, 3, 4]  # 8 holds it too, but the scope hides it
    assert sorted(_ids(matcher, "石墨烯", scope=ALL)) == [1, 3, 4, 8]


def test_a_run_of_characters_is_held_whole_and_separate_runs_all_of_them(
    matcher: Matcher,
) -> None:
    assert _ids(matcher, "石墨烯薄膜") == [3]
    assert _ids(matcher, "石墨烯 电极") == [1]
    assert _ids(matcher, "电极 石墨烯") == [1]
    assert _ids(matcher, "石墨烯 隔膜") == []  # no record holds both


def test_english_words_are_required_as_analysed(matcher: Matcher) -> None:
    assert sorted(_ids(matcher, "lithium batteries")) == [6, 7]  # stemmed: battery, batteries
    assert _ids(matcher, "Lithium cathode") == [7]
    assert _ids(matcher, "lithium 正极") == [7]


def test_hits_are_ranked_and_explained_as_in_the_default_mode(matcher: Matcher) -> None:
    hits = matcher.search(T, "石墨烯", MatchFilters(), PUBLIC, 10, exact=True)
    scores = [score for _i, score, _e in hits]
    assert scores == sorted(scores, reverse=True)
    for _i, score, explanation in hits:
        assert sum(explanation.signals.values()) == pytest.approx(score, abs=1e-3)
        assert explanation.matched_terms


def test_filters_still_apply(matcher: Matcher) -> None:
    papers = MatchFilters(kinds=("paper",))
    assert sorted(_ids(matcher, "石墨烯", filters=papers)) == [3, 4]


def test_a_query_of_stopwords_alone_requires_nothing(matcher: Matcher) -> None:
    loose = _ids(matcher, "的", exact=False)
    assert loose  # found by its vector alone
    assert _ids(matcher, "的") == loose


def test_an_index_built_before_grams_is_searched_through_its_words(tmp_path: Path) -> None:
    matcher = _matcher(tmp_path, grams=False)
    assert _ids(matcher, "隔膜") == [5]
    assert _ids(matcher, "石墨烯 隔膜") == []


# ------------------------------------------------------------------ API, page and CLI
@pytest.fixture
def world(app: Any, database: Any, engine: Any) -> Tenants:  # noqa: F811
    built = build_tenants(database)
    engine.rebuild()
    return built


def _external(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [h["external_id"] for h in response.json()["hits"]]


def test_the_api_lists_only_holders_the_caller_may_see(app: Any, world: Tenants) -> None:
    client = TestClient(app)
    public = world.external["result_public"]
    separator = world.external["result_partners"]  # A's 锂电池隔膜涂层, partners only
    query = {"q": "锂电池隔膜"}
    assert public in _external(client.get("/api/v1/match", params=query))
    assert _external(client.get("/api/v1/match", params={**query, "exact": "true"})) == []
    owner = auth.bearer(auth.api_token(client, "officer-a", auth.PASSWORD))
    exact = client.get("/api/v1/match", params={**query, "exact": "true"}, headers=owner)
    assert _external(exact) == [separator]
    outsider = auth.bearer(auth.api_token(client, "officer-b", auth.PASSWORD))
    hidden = client.get("/api/v1/match", params={**query, "exact": "true"}, headers=outsider)
    assert _external(hidden) == []
    assert client.get("/api/v1/match", params={**query, "exact": "maybe"}).status_code == 422


def _text(page: Any) -> str:
    """The page without its tags (matched terms are marked inside titles)."""
    return re.sub(r"<[^>]+>", "", page.text)


def test_the_search_page_offers_exact_match_in_both_languages(app: Any, world: Tenants) -> None:
    client = TestClient(app)
    page = client.get("/match", params={"q": "锂电池正极", "exact": "1"})
    assert page.status_code == 200, page.text
    assert 'name="exact" type="checkbox" value="1" checked' in page.text
    assert "精确匹配" in page.text
    assert "一种锂电池正极材料的制备方法" in _text(page)
    nothing = client.get("/match", params={"q": "锂电池隔膜", "exact": "1"})
    assert "没有记录原样包含“锂电池隔膜”" in nothing.text
    english = client.get("/match", params={"q": "锂电池隔膜", "exact": "1", "lang": "en"})
    assert "No record contains “锂电池隔膜” as typed." in english.text
    plain = client.get("/match", params={"q": "锂电池隔膜"})
    assert 'value="1" checked' not in plain.text
    assert "一种锂电池正极材料的制备方法" in _text(plain)  # found by meaning without it
    hostile = client.get("/match", params={"q": "<b>x</b>", "exact": "1"})
    assert "<b>x</b>" not in hostile.text and "&lt;b&gt;x&lt;/b&gt;" in hostile.text


@pytest.fixture
def cli(db_url: str, tmp_path: Path, world: Tenants) -> Any:
    return cli_invoker(db_url, tmp_path / "cli-data")


def test_the_cli_has_an_exact_mode_for_one_query_and_for_each_batch_line(
    cli: Any, world: Tenants
) -> None:
    public, separator = world.external["result_public"], world.external["result_partners"]

    def found(answer: dict[str, Any]) -> list[str]:
        return [h["external_id"] for h in answer["hits"]]

    # the CLI matches as the system, which sees every record
    assert public in found(json.loads(cli("match", "锂电池隔膜", "--json").stdout))
    exact = cli("match", "锂电池隔膜", "--json", "--exact")
    assert exact.exit_code == 0, exact.output
    assert found(json.loads(exact.stdout)) == [separator]
    outsider = cli("match", "锂电池隔膜", "--exact", "--as", "officer-b")
    assert outsider.exit_code == 0, outsider.output
    assert "No matches." in outsider.stdout
    lines = (
        '{"id": 1, "text": "锂电池隔膜", "exact": true}\n'
        '{"id": 2, "text": "锂电池隔膜"}\n'
        '{"id": 3, "text": "锂电池隔膜", "exact": "yes"}\n'
    )
    batch = cli("match", "--queries", "-", "--json", stdin=lines, lang="zh")
    assert batch.exit_code == 1
    answers = [json.loads(line) for line in batch.stdout.splitlines()]
    assert found(answers[0]) == [separator]
    assert public in found(answers[1])
    assert answers[2]["error"] == "第 3 行：“exact”只能是 true 或 false。"
    every = cli("match", "--queries", "-", "--json", "--exact", stdin=lines.split("\n")[1])
    assert found(json.loads(every.stdout)) == [separator]  # --exact is every line's default

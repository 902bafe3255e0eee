"""The matcher over the embedded index: hybrid ranking, feedback, scope, explanations."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from shelfbridge.matching.embedders.static import StaticEmbedder
from shelfbridge.matching.ranking import Matcher, RankingSettings
from shelfbridge.matching.types import MatchAttributes, MatchFilters, Scope, Target
from tests.matching.fakes import BilingualHashModel
from tests.matching.ranking_support import static_matcher

T = Target.RESULTS
ALL = Scope(unrestricted=True)
TEXTS = {
    1: "锂离子电池正极材料的制备。该材料提高了电池的能量密度。",
    2: "固态电池电解质研究。电解质决定电池安全。",
    3: "水产养殖中的鱼类病害防控技术。",
    4: "鱼类饲料配方优化与养殖效益。",
    5: "深度学习用于医学图像识别。",
    6: "电池回收与梯次利用。",
    7: "机密：新型电池隔膜配方。",
}


@pytest.fixture
def matcher(tmp_path: Path) -> Matcher:
    return static_matcher(
        tmp_path / "ix",
        TEXTS,
        grams=False,
        attributes=lambda i: MatchAttributes(
            confidentiality="internal" if i == 7 else "public",
            owner_org_id=99 if i == 7 else None,
            kind="software" if i == 5 else "patent",
        ),
    )


def load(ids: object) -> dict[int, str]:
    return {i: TEXTS[i] for i in ids}  # type: ignore[attr-defined]


def test_lexical_and_semantic_evidence_rank_the_battery_records_first(matcher: Matcher) -> None:
    hits = matcher.search(T, "电池材料", MatchFilters(), ALL, 3)
    assert hits[0][0] == 1
    assert {h[0] for h in hits} <= {1, 2, 6, 7}


def test_explanation_names_terms_passages_and_signals(matcher: Matcher) -> None:
    hits = matcher.search(T, "电池正极材料", MatchFilters(), ALL, 2, text_loader=load)
    record_id, score, explanation = hits[0]
    assert record_id == 1
    assert {"电池", "正极", "材料"} <= set(explanation.matched_terms)
    assert explanation.passages and "正极材料" in explanation.passages[0]
    assert set(explanation.signals) == {"lexical", "semantic", "neighbours"}
    assert sum(explanation.signals.values()) == pytest.approx(score, abs=1e-3)


def test_feedback_terms_are_reported_as_expanded(matcher: Matcher) -> None:
    hits = matcher.search(T, "锂离子", MatchFilters(), ALL, 5)
    expanded = {t for _, _, e in hits for t in e.expanded_terms}
    assert expanded  # terms learned from the best records, absent from the query
    assert not expanded & {"锂离子"}


def test_it_never_returns_what_the_scope_hides(matcher: Matcher) -> None:
    public = matcher.search(T, "电池隔膜配方", MatchFilters(), Scope(), 10)
    assert 7 not in {h[0] for h in public}
    owner = matcher.search(
        T, "电池隔膜配方", MatchFilters(), Scope(owner_org_ids=frozenset({99})), 10
    )
    assert owner[0][0] == 7


def test_filters_apply_to_every_round(matcher: Matcher) -> None:
    hits = matcher.search(T, "电池", MatchFilters(kinds=("software",)), ALL, 10)
    assert [h[0] for h in hits] == [5]


def test_similar_finds_records_like_a_given_one_and_excludes_it(matcher: Matcher) -> None:
    hits = matcher.similar(T, TEXTS[3], MatchFilters(), ALL, 2, exclude=[3])
    assert 3 not in {h[0] for h in hits}
    assert hits[0][0] == 4


def test_a_matcher_without_feedback_or_smoothing_still_ranks(
    tmp_path: Path, matcher: Matcher
) -> None:
    plain = Matcher(
        matcher.backend,
        matcher.embedder,
        matcher.analyzer,
        RankingSettings(feedback_documents=0, smoothing_weight=0.0),
    )
    hits = plain.search(T, "鱼类养殖", MatchFilters(), ALL, 2)
    assert {h[0] for h in hits} == {3, 4}
    assert all(h[2].signals["neighbours"] == 0 for h in hits)
    assert all(not h[2].expanded_terms for h in hits)


def test_empty_text_finds_nothing(matcher: Matcher) -> None:
    assert matcher.search(T, "   ", MatchFilters(), ALL, 5) == []


class SlowQueries:
    """An embedder whose query embedding takes a while and records the thread it ran on."""

    def __init__(self, inner: StaticEmbedder) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.threads: list[str] = []

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        time.sleep(0.02)
        return self.inner.embed_queries(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)


@pytest.mark.parametrize(
    "query", ["电池材料", "锂离子", "鱼类养殖", "深度学习 图像", "电池隔膜配方"]
)
def test_overlapped_and_sequential_searches_rank_the_same(matcher: Matcher, query: str) -> None:
    slow = SlowQueries(matcher.embedder)  # type: ignore[arg-type]
    overlapped = Matcher(matcher.backend, slow, matcher.analyzer, overlap=True)
    sequential = Matcher(matcher.backend, matcher.embedder, matcher.analyzer, overlap=False)
    for scope in (ALL, Scope()):
        a = overlapped.search(T, query, MatchFilters(), scope, 5, text_loader=load)
        b = sequential.search(T, query, MatchFilters(), scope, 5, text_loader=load)
        assert [(h[0], round(h[1], 6), h[2]) for h in a] == [
            (h[0], round(h[1], 6), h[2]) for h in b
        ]
    assert slow.threads and all(t != threading.current_thread().name for t in slow.threads)


def test_an_embedding_failure_reaches_the_caller(matcher: Matcher) -> None:
    class Broken(SlowQueries):
        def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("model unavailable")

    broken = Matcher(
        matcher.backend,
        Broken(matcher.embedder),
        matcher.analyzer,  # type: ignore[arg-type]
    )
    with pytest.raises(RuntimeError, match="model unavailable"):
        broken.search(T, "电池", MatchFilters(), ALL, 3)


SOLAR = {
    1: "太阳能光伏电池组件的封装工艺与可靠性",
    2: "光伏发电站选址",
    3: "水产养殖中的鱼类病害防控技术。",
}


def solar_matcher(tmp_path: Path, *, grams: bool) -> Matcher:
    """An index of ``SOLAR``; ``grams=False`` builds it as before grams (words only)."""
    return static_matcher(
        tmp_path / ("grams" if grams else "words"),
        SOLAR,
        grams=grams,
        settings=RankingSettings(feedback_documents=0),
        prefix="S",
    )


def test_grams_match_what_the_words_of_a_query_and_a_record_split_differently(
    tmp_path: Path,
) -> None:
    """ "光伏组件" shares the word 光伏 with both records, but only record 1 holds 组件 (jieba
    cuts the query's 光伏组件 and the record's 电池组件 so that no word 组件 is shared)."""
    hits = solar_matcher(tmp_path, grams=True).search(
        T, "光伏组件", MatchFilters(), ALL, 3, text_loader=lambda ids: {i: SOLAR[i] for i in ids}
    )
    by_id = {h[0]: h for h in hits}
    assert by_id[1][2].signals["lexical"] > by_id[2][2].signals["lexical"]
    assert by_id[1][2].matched_terms == ("光伏", "组件")
    assert by_id[2][2].matched_terms == ("光伏",)
    assert "组件" in by_id[1][2].passages[0]


def test_an_index_built_before_grams_ranks_by_words(tmp_path: Path) -> None:
    hits = solar_matcher(tmp_path, grams=False).search(T, "光伏组件", MatchFilters(), ALL, 3)
    by_id = {h[0]: h for h in hits}
    # without grams the shorter record wins on the one shared word
    assert by_id[2][2].signals["lexical"] > by_id[1][2].signals["lexical"]
    assert by_id[1][2].matched_terms == ("光伏",)


def _bilingual(tmp_path: Path, **settings: float) -> Matcher:
    return static_matcher(
        tmp_path / "bilingual",
        TEXTS,
        grams=False,
        model=BilingualHashModel(),
        settings=RankingSettings(**settings),  # type: ignore[arg-type]
    )


def test_an_english_query_is_embedded_with_its_words_chinese_neighbours(tmp_path: Path) -> None:
    bridged = _bilingual(tmp_path)
    assert bridged.bridged_words("fish disease") == ["鱼类", "病害"]
    assert bridged.bridged_words("鱼类 Disease") == []  # with Chinese: lower case only
    own, translated = bridged.embedder.embed_queries(["fish disease", "鱼类 病害"])
    expected = own + 0.5 * translated
    expected /= np.linalg.norm(expected)
    assert np.allclose(bridged._embed_query("fish disease", ["鱼类", "病害"]), expected, atol=1e-6)
    plain = _bilingual(tmp_path / "off", bridge_weight=0.0)
    assert plain.bridged_words("fish disease") == []
    assert np.allclose(plain._embed_query("fish disease", []), own, atol=1e-6)

    def place(matcher: Matcher) -> int:  # of 水产养殖中的鱼类病害防控技术
        hits = matcher.search(T, "fish disease", MatchFilters(), ALL, len(TEXTS))
        return [h[0] for h in hits].index(3)

    # the hash "model" puts the English words anywhere; their translations find the record
    assert place(_bilingual(tmp_path / "strong", bridge_weight=1.0)) == 0
    assert place(bridged) < place(plain)
    # the explanation names the Chinese words the query was read as, which the record holds
    (hit,) = [h for h in bridged.search(T, "fish disease", MatchFilters(), ALL, 7) if h[0] == 3]
    assert set(hit[2].matched_terms) >= {"鱼类", "病害"}
    assert not [h for h in plain.search(T, "fish disease", MatchFilters(), ALL, 7) if h[0] == 3][0][
        2
    ].matched_terms


def test_a_chinese_query_bridges_its_lower_case_english_words(tmp_path: Path) -> None:
    bridged = _bilingual(tmp_path)
    assert bridged.bridge_pairs("养殖 disease and fish") == [("disease", "病害"), ("fish", "鱼类")]
    assert bridged.bridged_words("养殖 disease") == ["病害"]
    assert bridged.bridged_words("养殖 Disease") == []  # a capital: a name, searched as typed
    assert bridged.bridge_pairs("fish disease") == [("fish", "鱼类"), ("disease", "病害")]
    own, translated = bridged.embedder.embed_queries(["养殖 disease", "病害"])
    expected = own + 0.5 * translated
    expected /= np.linalg.norm(expected)
    assert np.allclose(bridged._embed_query("养殖 disease", ["病害"]), expected, atol=1e-6)
    (hit,) = [h for h in bridged.search(T, "养殖 disease", MatchFilters(), ALL, 7) if h[0] == 3]
    assert "病害" in hit[2].matched_terms  # read as 病害, which the record holds
    plain = _bilingual(tmp_path / "off", bridge_weight=0.0)
    assert plain.bridge_pairs("养殖 disease") == []
    (hit,) = [h for h in plain.search(T, "养殖 disease", MatchFilters(), ALL, 7) if h[0] == 3]
    assert "病害" not in hit[2].matched_terms

"""The static embedder: IDF-weighted term vectors mapped into the teacher's space, fitted on
the corpus only, cached for other processes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shelfbridge.matching.embedders.base import CorpusFitted, Embedder, create_embedder
from shelfbridge.matching.embedders.static import StaticEmbedder
from tests.matching.fakes import BilingualHashModel, HashModel

CORPUS = [
    "纳米材料的制备与表征",
    "锂电池正极材料研究",
    "水产养殖病害防控",
    "鱼类养殖饲料配方",
    "深度学习图像识别方法",
    "神经网络模型压缩方法",
] * 3


def static(tmp_path: Path | None = None, **options: object) -> StaticEmbedder:
    model = HashModel()
    return StaticEmbedder("static-test", model, model, cache_dir=tmp_path, **options)  # type: ignore[arg-type]


def test_it_is_an_embedder_fitted_on_the_corpus() -> None:
    embedder = static()
    assert isinstance(embedder, Embedder) and isinstance(embedder, CorpusFitted)
    assert not embedder.fitted
    embedder.fit(CORPUS)
    assert embedder.fitted


def test_documents_are_unit_vectors_and_similar_texts_are_near() -> None:
    embedder = static()
    embedder.fit(CORPUS)
    v = embedder.embed_documents(["水产养殖饲料", "鱼类养殖病害", "神经网络图像识别"])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_rare_terms_weigh_more_than_common_ones() -> None:
    embedder = static()
    embedder.fit(CORPUS + ["材料 方法"] * 30)  # 材料 and 方法 become very common
    assert embedder._weight("纳米") > embedder._weight("材料")
    assert embedder._weight("never-seen-term") >= embedder._weight("纳米")


def test_short_queries_go_to_the_teacher_long_texts_take_the_static_path() -> None:
    embedder = static(query_chars=10)
    embedder.fit(CORPUS)
    teacher = embedder.teacher
    assert isinstance(teacher, HashModel)
    embedder.embed_queries(["水产养殖", "一段很长的需求描述：我们需要一种新的鱼类养殖饲料配方"])
    assert teacher.query_calls == ["水产养殖"]


def test_the_fit_is_saved_and_another_instance_loads_it(tmp_path: Path) -> None:
    first = static(tmp_path)
    first.fit(CORPUS)
    second = static(tmp_path)
    assert second.fitted
    texts = ["纳米材料", "养殖饲料"]
    # the vocabulary is kept as saved (float16), so both embed alike (up to the IDF's five
    # saved decimals)
    np.testing.assert_allclose(
        first.embed_documents(texts), second.embed_documents(texts), atol=1e-6
    )
    assert isinstance(second.term_model, HashModel)
    assert second.term_model.term_calls == []  # nothing embedded again


def test_the_vocabulary_is_held_at_half_precision(tmp_path: Path) -> None:
    first = static(tmp_path)
    first.fit(CORPUS)
    second = static(tmp_path)
    second.embed_documents(["纳米材料"])  # loads the fit
    assert first._vectors.dtype == second._vectors.dtype == np.float16
    assert len(first._terms) == len(first._vectors) > 0


def test_terms_the_fit_never_saw_are_embedded_on_the_fly() -> None:
    embedder = static()
    embedder.fit(CORPUS)
    model = embedder.term_model
    assert isinstance(model, HashModel)
    model.term_calls.clear()
    embedder.embed_documents(["量子计算"])
    assert "量子" in model.term_calls
    # a batch sums each document's own terms, seen by the fit or not
    both, seen, unseen = embedder._raw([{"纳米": 1, "量子": 2}, {"纳米": 1}, {"量子": 2}])
    np.testing.assert_allclose(both, seen + unseen, atol=1e-5)
    assert np.linalg.norm(unseen) > 0


def test_builtin_static_embedders_are_registered() -> None:
    embedder = create_embedder("static-use-e5")
    assert embedder.name == "static-use-e5" and embedder.dim == 384


def test_density_is_the_mean_similarity_of_the_nearest_reference_documents() -> None:
    embedder = static()
    assert embedder.densities(np.ones((2, HashModel().dim), np.float32)).tolist() == [0.0, 0.0]
    corpus = [f"水产养殖 第{i}批 鱼类饲料" for i in range(12)] + ["量子计算", "古代诗歌"]
    embedder.fit(corpus)
    vectors = embedder.embed_documents(corpus)
    reference = embedder._reference
    assert reference is not None and len(reference) == len(corpus)  # small corpus: all of it
    density = embedder.densities(vectors)
    # by hand: cosine with every other document, the ten largest, their mean
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    expected = np.sort(similarity, axis=1)[:, -10:].mean(axis=1)
    np.testing.assert_allclose(density, expected, atol=2e-3)
    # a document of the crowded aquaculture cluster sits in a denser neighbourhood
    assert density[0] > density[-1]


def test_the_density_reference_is_saved_with_the_fit(tmp_path: Path) -> None:
    first = static(tmp_path)
    first.fit(CORPUS)
    second = static(tmp_path)
    vectors = first.embed_documents(["纳米材料", "养殖饲料"])
    np.testing.assert_allclose(first.densities(vectors), second.densities(vectors), atol=2e-3)
    assert first.densities(vectors).max() > 0


def test_grams_in_the_counts_leave_a_vector_unchanged() -> None:
    """The index stores grams beside words; a vector is made of the words alone."""
    from shelfbridge.matching.analysis import Analyzer

    embedder = static()
    analyzer = Analyzer()
    embedder.fit([analyzer.indexed_counts(text) for text in CORPUS], texts=CORPUS)
    assert not any(term.startswith("#") for term in embedder._terms)
    texts = ["锂电池正极材料", "鱼类养殖饲料配方研究"]
    with_grams = embedder.embed_term_counts([analyzer.indexed_counts(t) for t in texts])
    words = embedder.embed_term_counts([analyzer.term_counts(t) for t in texts])
    np.testing.assert_array_equal(with_grams, words)


def test_a_foreign_word_bridges_to_the_nearest_chinese_word_of_the_corpus() -> None:
    model = BilingualHashModel()
    embedder = StaticEmbedder("static-test", model, model)  # type: ignore[arg-type]
    assert embedder.bridge_terms(["battery"]) == [None]  # nothing to bridge to before a fit
    embedder.fit(CORPUS)
    assert embedder.bridge_terms(["battery", "fish", "disease"]) == ["电池", "鱼类", "病害"]
    assert embedder.bridge_terms([]) == []


def test_a_bridged_word_is_looked_up_once_until_the_next_fit() -> None:
    """A search and the "read as" shown with it ask for the same words: the term model embeds
    each once; a refit (new candidates) asks again."""
    asked: list[str] = []

    class Counting(BilingualHashModel):
        def embed_terms(self, terms: Sequence[str]) -> Any:
            asked.extend(terms)
            return super().embed_terms(terms)

    model = Counting()
    embedder = StaticEmbedder("static-test", model, model)  # type: ignore[arg-type]
    embedder.fit(CORPUS)
    asked.clear()
    assert embedder.bridge_terms(["fish", "disease", "fish"]) == ["鱼类", "病害", "鱼类"]
    assert embedder.bridge_terms(["disease", "battery"]) == ["病害", "电池"]
    assert asked == ["fish", "disease", "battery"]
    embedder.fit(CORPUS)
    asked.clear()
    assert embedder.bridge_terms(["fish"]) == ["鱼类"]
    assert asked == ["fish"]


def test_a_single_character_word_is_a_bridge_candidate_too() -> None:
    model = BilingualHashModel()
    embedder = StaticEmbedder("static-test", model, model)  # type: ignore[arg-type]
    embedder.fit([*CORPUS, "铁和铜的冶炼", "铁、锰、锌的测定"])
    assert embedder.bridge_terms(["iron", "battery"]) == ["铁", "电池"]


def test_only_the_most_common_chinese_words_are_bridge_candidates(monkeypatch: Any) -> None:
    from shelfbridge.matching.embedders import static as module

    monkeypatch.setattr(module, "BRIDGE_VOCABULARY", 2)
    model = BilingualHashModel()
    embedder = StaticEmbedder("static-test", model, model)  # type: ignore[arg-type]
    embedder.fit([*CORPUS, *["电池回收", "电池储能"] * 3])  # 电池 is now the commonest word
    assert embedder.bridge_terms(["battery"]) == ["电池"]
    assert embedder.bridge_terms(["fish"]) != ["鱼类"]  # a rarer word is not a candidate

"""The bilingual analyzer: jieba search-mode Chinese, stemmed English, stopwords, spans."""

from __future__ import annotations

from shelfbridge.matching.analysis import Analyzer, fold, load_stopwords


def test_chinese_long_words_also_yield_their_dictionary_words() -> None:
    terms = Analyzer().terms("计算机科学与技术")
    assert {"计算机", "科学", "技术", "计算机科学"} <= set(terms)
    assert "与" not in terms  # a stopword


def test_english_is_lowercased_stemmed_and_stopworded() -> None:
    terms = Analyzer().terms("The Batteries of the Electric Vehicles")
    assert terms == ["batteri", "electr", "vehicl"]


def test_mixed_text_keeps_both_languages() -> None:
    terms = Analyzer().terms("基于Lyapunov函数的控制方法")
    assert "lyapunov" in terms and "函数" in terms and "控制" in terms


def test_full_width_forms_fold_without_moving_offsets() -> None:
    text = "ＡＢＣ　纳米"
    assert fold(text) == "abc 纳米"
    assert len(fold(text)) == len(text)


def test_stopword_list_has_both_languages() -> None:
    words = load_stopwords()
    assert {"的", "和", "the", "of"} <= words
    assert "纳米" not in words


def test_spans_point_at_the_original_text() -> None:
    analyzer = Analyzer()
    text = "本文研究纳米材料。Nano MATERIALS are studied."
    spans = analyzer.spans(text, {"纳米", "materi"})
    assert [text[s.start : s.end] for s in spans] == ["纳米", "MATERIALS"]


def test_overlapping_spans_merge_into_the_longest() -> None:
    analyzer = Analyzer()
    text = "计算机科学"
    spans = analyzer.spans(text, {"计算机", "计算机科学", "科学"})
    assert [(s.start, s.end) for s in spans] == [(0, 5)]


def test_passages_prefer_sentences_with_more_query_weight() -> None:
    analyzer = Analyzer()
    text = "第一句讲天气。第二句讲纳米材料的制备。第三句讲纳米。"
    best = analyzer.passages(text, {"纳米": 1.0, "材料": 1.0, "制备": 1.0}, limit=1)
    assert best == ["第二句讲纳米材料的制备。"]


def test_term_counts_count_repeats() -> None:
    counts = Analyzer().term_counts("纳米 纳米 材料")
    assert counts["纳米"] == 2 and counts["材料"] == 1

"""The bilingual analyzer: jieba search-mode Chinese, stemmed English, stopwords, spans."""

from __future__ import annotations

from shelfbridge.matching.analysis import (
    Analyzer,
    default_analyzer,
    fold,
    holds,
    load_stopwords,
    with_grams,
    words_only,
)


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


def test_grams_are_the_bigrams_of_each_chinese_run() -> None:
    grams = Analyzer().grams("光伏组件，Solar 电池。单")
    assert grams == ["#光伏", "#伏组", "#组件", "#电池"]  # not across the comma; no Latin


def test_the_index_holds_words_and_grams_and_words_only_drops_the_grams() -> None:
    counts = Analyzer().indexed_counts("电池电池回收")
    assert counts["电池"] == 2 and counts["#电池"] == 2 and counts["#池电"] == 1
    assert counts["回收"] == 1 and counts["#回收"] == 1
    assert words_only(counts) == Analyzer().term_counts("电池电池回收")


def test_fragments_are_the_longest_query_pieces_a_record_holds() -> None:
    analyzer = Analyzer()
    held = analyzer.indexed_counts("固体废弃物资源化处理，太阳能光伏电池组件")
    assert analyzer.fragments("固废资源化的光伏组件", held) == ["资源化", "光伏", "组件"]
    assert holds(held, "资源化") and holds(held, "组件") and not holds(held, "固废")
    assert holds(held, "处理") and not holds(held, "处") and not holds(held, "solar")


def test_spans_find_a_chinese_term_where_jieba_cut_the_text_otherwise() -> None:
    text = "太阳能光伏电池组件"
    spans = Analyzer().spans(text, {"池组"})  # no word of the text: a fragment
    assert [text[s.start : s.end] for s in spans] == ["池组"]


def test_foreign_words_are_a_query_without_chinese_as_typed() -> None:
    analyzer = default_analyzer()
    words = analyzer.foreign_words("Lithium-ion Batteries and the solar cells, batteries")
    assert words == ["lithium-ion", "batteries", "solar", "cells"]  # unstemmed, each once
    assert analyzer.foreign_words("锂电池 battery") == []  # holds Chinese: not foreign
    assert analyzer.foreign_words("ＧａＮ ＬＥＤ") == ["gan", "led"]  # full-width folded
    assert analyzer.foreign_words("a 1 x") == []


def test_words_among_chinese_are_the_english_words_of_a_chinese_query() -> None:
    analyzer = default_analyzer()
    words = analyzer.words_among_chinese("锂电池 separator，CO2 和 the PCB 涂层 coating separator")
    assert words == ["separator", "coating"]  # lower case, letters only, stopwords out, once
    assert analyzer.words_among_chinese("battery separator") == []  # no Chinese: foreign_words
    assert analyzer.words_among_chinese("锂电池 ｓｅｐａｒａｔｏｒ") == ["separator"]  # full-width
    # a capital marks a name or an acronym, digits a formula, two letters a symbol
    assert analyzer.words_among_chinese("基于Java的 HPLC 测定 Intranet co2 li") == []


def test_required_terms_are_every_pair_of_each_run_and_the_other_words() -> None:
    analyzer = default_analyzer()
    assert analyzer.required_terms("石墨烯") == ["#石墨", "#墨烯"]
    assert analyzer.required_terms("石墨烯 的 制备") == ["#石墨", "#墨烯", "#制备"]  # 的 alone
    assert analyzer.required_terms("铁 Lithium batteries 5G") == ["铁", "lithium", "batteri", "5g"]
    assert analyzer.required_terms("Ｇｒａｐｈｅｎｅ 石墨烯") == ["#石墨", "#墨烯", "graphen"]
    assert analyzer.required_terms("的 the") == []


def test_with_grams_gives_a_words_only_record_the_grams_inside_its_words() -> None:
    stored = {"石墨烯": 1, "电极": 2, "lithium": 1}
    held = with_grams(stored)
    assert {"#石墨", "#墨烯", "#电极", "石墨烯", "lithium"} <= set(held)
    indexed = {"电极": 1, "#电极": 1}
    assert with_grams(indexed) is indexed  # a record with grams keeps what it stored

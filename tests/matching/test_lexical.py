"""BM25 against a case computed by hand."""

from __future__ import annotations

import math

import pytest

from shelfbridge.matching.lexical import BM25Parameters, idf, saturation, score_documents


def test_idf_is_lucenes_and_never_negative() -> None:
    # N = 4, df = 1: ln(1 + (4 - 1 + 0.5) / (1 + 0.5)) = ln(1 + 3.5/1.5)
    assert idf(4, [1])[0] == pytest.approx(math.log(1 + 3.5 / 1.5), rel=1e-6)
    assert idf(4, [4])[0] > 0


def test_bm25_matches_a_hand_computed_case() -> None:
    documents = [{"纳米": 2, "材料": 1}, {"材料": 1, "电池": 3}, {"电池": 1}]
    df = {"纳米": 1, "材料": 2, "电池": 2}
    n, avgdl = 3, (3 + 4 + 1) / 3
    k1, b = 1.2, 0.75
    # document 0 for the query "纳米 材料", by hand:
    idf_nano = math.log(1 + (3 - 1 + 0.5) / 1.5)
    idf_mat = math.log(1 + (3 - 2 + 0.5) / 2.5)
    norm = k1 * (1 - b + b * 3 / avgdl)
    expected = idf_nano * 2 * (k1 + 1) / (2 + norm) + idf_mat * 1 * (k1 + 1) / (1 + norm)
    scores = score_documents({"纳米": 1.0, "材料": 1.0}, documents, df, n, avgdl)
    assert scores[0] == pytest.approx(expected, rel=1e-5)
    assert scores[2] == 0.0
    assert scores[0] > scores[1]


def test_saturation_grows_with_frequency_but_stays_below_k1_plus_one() -> None:
    values = saturation([1, 2, 10, 1000], [5, 5, 5, 5], 5.0, BM25Parameters(k1=1.2, b=0.75))
    assert list(values) == sorted(values)
    assert values[-1] < 2.2

"""BM25 scoring math shared by the index backends and the matcher.

Okapi BM25 with the Lucene IDF, ``log(1 + (N - df + 0.5) / (df + 0.5))``, which never goes
negative, so a term in more than half of the documents still counts a little instead of
penalising the documents that contain it::

    score(d,q) = Σ_t w_q(t)·idf(t)·tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 - b + b·|d|/avgdl))

``w_q(t)`` is the query's weight of the term (its count in the query, or a feedback weight).
The functions work on numpy arrays so that a backend scores a whole posting list at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BM25Parameters:
    """``k1`` saturates term frequency, ``b`` normalises document length (the usual defaults)."""

    k1: float = 1.2
    b: float = 0.75


DEFAULT_BM25 = BM25Parameters()


def idf(documents: int, document_frequency: npt.ArrayLike) -> FloatArray:
    """Lucene's BM25 IDF for each document frequency."""
    df = np.asarray(document_frequency, dtype=np.float64)
    n = float(max(documents, 0))
    return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)


def saturation(
    term_frequency: npt.ArrayLike,
    document_length: npt.ArrayLike,
    average_length: float,
    parameters: BM25Parameters = DEFAULT_BM25,
) -> FloatArray:
    """The BM25 term-frequency factor for postings (one value per (term, document) pair)."""
    tf = np.asarray(term_frequency, dtype=np.float32)
    dl = np.asarray(document_length, dtype=np.float32)
    k1, b = parameters.k1, parameters.b
    norm = k1 * (1.0 - b + b * dl / np.float32(max(average_length, 1e-9)))
    return (tf * np.float32(k1 + 1.0) / (tf + norm)).astype(np.float32, copy=False)


def score_documents(
    query_terms: Mapping[str, float],
    documents: Sequence[Mapping[str, int]],
    document_frequency: Mapping[str, int],
    total_documents: int,
    average_length: float,
    parameters: BM25Parameters = DEFAULT_BM25,
) -> FloatArray:
    """BM25 of a few documents given as term counts (reranking, tests); one score each."""
    terms = [t for t, w in query_terms.items() if w]
    weights = np.array([query_terms[t] for t in terms], dtype=np.float32)
    idfs = idf(total_documents, [document_frequency.get(t, 0) for t in terms])
    out = np.zeros(len(documents), dtype=np.float32)
    for row, counts in enumerate(documents):
        length = sum(counts.values())
        tf = np.array([counts.get(t, 0) for t in terms], dtype=np.float32)
        out[row] = float(
            np.sum(weights * idfs * saturation(tf, length, average_length, parameters))
        )
    return out

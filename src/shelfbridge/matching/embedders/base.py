"""The embedder interface and its registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised vectors in one space shared by Chinese and English.

    ``embed_queries`` and ``embed_documents`` differ for models trained with prefixes (E5's
    ``query:`` / ``passage:``); both return an array of shape ``(len(texts), dim)``.
    """

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors: ...


EmbedderFactory = Callable[[], Embedder]
_FACTORIES: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make an embedder available under ``name`` (``SHELFBRIDGE_MATCH_EMBEDDER``)."""
    _FACTORIES[name] = factory


def embedder_names() -> list[str]:
    return sorted(_FACTORIES)


def create_embedder(name: str) -> Embedder:
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise LookupError(
            f"unknown embedder {name!r}; known: {', '.join(embedder_names())}"
        ) from None
    return factory()

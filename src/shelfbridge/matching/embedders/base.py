"""The embedder interface and its registry."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class TermModel(Protocol):
    """A model that can embed single terms (words), the teacher of a static embedder."""

    name: str
    dim: int

    def embed_terms(self, terms: Sequence[str]) -> Vectors: ...


@runtime_checkable
class TermBridge(Protocol):
    """An embedder that knows the corpus's own words and can name, for a word of another
    language, the corpus word nearest to it (a static embedder: its term model is
    multilingual). The matcher uses it for the English words of a query."""

    def bridge_terms(self, words: Sequence[str]) -> list[str | None]: ...


@runtime_checkable
class CorpusFitted(Protocol):
    """An embedder that learns from the platform's own unlabelled text (static embedders).

    ``fit`` is called by a full rebuild before documents are embedded, with every document to
    be indexed: its text (preferred: a teacher model reads a sample of them) or its analysed
    term counts. It may take minutes the first time (it embeds the corpus vocabulary once and
    caches it) and is cheaper afterwards. Incremental updates never call it: new documents are
    embedded with the statistics of the last fit.
    """

    def fit(self, documents: Iterable[Mapping[str, int] | str]) -> None: ...


def normalise_rows(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    out = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def densities_of(embedder: Embedder, vectors: Vectors) -> npt.NDArray[np.float32]:
    """The neighbourhood density of each document vector (see ``StaticEmbedder.densities``),
    or zeros for an embedder that has none: its dense scores stay plain inner products."""
    densities = getattr(embedder, "densities", None)
    if not callable(densities) or len(vectors) == 0:
        return np.zeros(len(vectors), dtype=np.float32)
    return np.asarray(densities(vectors), dtype=np.float32)


EmbedderFactory = Callable[..., Embedder]
_FACTORIES: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory, *, replace: bool = True) -> None:
    """Make an embedder available under ``name`` (``SHELFBRIDGE_MATCH_EMBEDDER``).

    ``replace=False`` keeps an existing registration (the built-ins use it, so an outside
    embedder registered under a built-in name wins)."""
    if replace or name not in _FACTORIES:
        _FACTORIES[name] = factory


def embedder_names() -> list[str]:
    return sorted(_FACTORIES)


def create_embedder(name: str, **options: Any) -> Embedder:
    """A new embedder. ``options`` (such as ``cache_dir``: where a corpus-fitted embedder keeps
    what it learned, so that the server finds what ``index rebuild`` fitted) go to the factory;
    options the factory does not take are left out, so a factory without parameters works."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise LookupError(
            f"unknown embedder {name!r}; known: {', '.join(embedder_names())}"
        ) from None
    return factory(**_accepted(factory, options))


def _accepted(factory: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: give it nothing
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return options
    names = {p.name for p in parameters if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    return {key: value for key, value in options.items() if key in names}

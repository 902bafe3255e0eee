"""The index backend interface and its registry.

A backend stores, per target, for each record: its dense vector, its lexical term
frequencies (for BM25) and its :class:`MatchAttributes` (for filters and the visibility
pre-filter). Scoring math that both backends share lives in :mod:`shelfbridge.matching.ranking`
and :mod:`shelfbridge.matching.lexical`; a backend only has to fetch candidates fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from shelfbridge.matching.types import Candidate, MatchAttributes, MatchFilters, Scope, Target


@dataclass(frozen=True)
class IndexedRecord:
    """What a backend stores for one record."""

    record_id: int
    external_id: str
    vector: npt.NDArray[np.float32]  # L2-normalised, the embedder's dim
    term_counts: Mapping[str, int]  # analysed terms of the record's text
    attributes: MatchAttributes
    # how crowded the record's neighbourhood is (the embedder's ``densities``; 0 without one)
    density: float = 0.0


# Dense scores are cross-domain similarity local scaling (CSLS, Conneau et al. 2018) on the
# document side: inner product minus half the record's neighbourhood density. The query's own
# density term is the same for every record of a search, so it is left out.
DENSITY_PENALTY = 0.5


@dataclass(frozen=True)
class TermStatistics:
    """Collection statistics for BM25 and for term-based feedback."""

    documents: int
    average_length: float
    document_frequency: Mapping[str, int]


@runtime_checkable
class IndexBackend(Protocol):
    """Candidate retrieval under filters and a visibility scope.

    ``lexical`` scores with BM25 over the stored term counts (``query_terms`` maps each query
    term to its weight; the backend multiplies by the term's IDF); ``dense`` with the inner
    product of normalised vectors minus ``DENSITY_PENALTY`` × the record's stored density,
    ranking by that corrected score. Both return at most ``limit`` candidates, best first, and
    never a record outside ``scope`` or ``filters``.
    """

    def upsert(self, target: Target, records: Sequence[IndexedRecord]) -> None: ...

    def delete(self, target: Target, record_ids: Sequence[int]) -> None: ...

    def clear(self, target: Target) -> None: ...

    def count(self, target: Target) -> int: ...

    def statistics(self, target: Target, terms: Sequence[str]) -> TermStatistics: ...

    def lexical(
        self,
        target: Target,
        query_terms: Mapping[str, float],
        limit: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]: ...

    def dense(
        self,
        target: Target,
        vector: npt.NDArray[np.float32],
        limit: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]: ...

    def vectors(self, target: Target, record_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """Stored vectors of these records, in the given order (for feedback and reranking)."""
        ...

    def term_counts(self, target: Target, record_ids: Sequence[int]) -> list[Mapping[str, int]]:
        """Stored term counts of these records, in the given order."""
        ...

    def holding(
        self, target: Target, record_ids: Sequence[int], terms: Sequence[str]
    ) -> list[bool]:
        """Whether each of these records holds every one of ``terms`` (words or grams), in
        the given order (a record not indexed holds nothing): the exact mode's test."""
        ...

    def close(self) -> None: ...


BackendFactory = Callable[..., IndexBackend]
_FACTORIES: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a backend available under ``name`` (``SHELFBRIDGE_MATCH_INDEX``)."""
    _FACTORIES[name] = factory


def backend_names() -> list[str]:
    return sorted(_FACTORIES)


def backend_factory(name: str) -> BackendFactory:
    try:
        return _FACTORIES[name]
    except KeyError:
        raise LookupError(
            f"unknown index backend {name!r}; known: {', '.join(backend_names())}"
        ) from None

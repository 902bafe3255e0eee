"""A matcher over a real embedded index of a few texts, for the ranking tests: a static
embedder fitted on the texts over a hash term model (tests/matching/fakes.py), no database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shelfbridge.matching.analysis import default_analyzer
from shelfbridge.matching.embedders.static import StaticEmbedder
from shelfbridge.matching.index.base import IndexedRecord
from shelfbridge.matching.index.embedded import EmbeddedIndex
from shelfbridge.matching.ranking import DEFAULT_RANKING, Matcher, RankingSettings
from shelfbridge.matching.types import MatchAttributes, Target
from tests.matching.fakes import HashModel


def static_matcher(
    directory: Path,
    texts: Mapping[int, str],
    *,
    target: Target = Target.RESULTS,
    grams: bool = True,
    model: Any = None,
    attributes: Callable[[int], MatchAttributes] = lambda _record: MatchAttributes(),
    settings: RankingSettings = DEFAULT_RANKING,
    prefix: str = "R",
) -> Matcher:
    """Records ``texts`` (id → text) indexed under ``directory``, external ids ``{prefix}-{id}``;
    ``grams=False`` indexes words only, as an index built before grams."""
    term_model = model if model is not None else HashModel()
    embedder = StaticEmbedder("static-test", term_model, term_model)
    analyzer = default_analyzer()
    embedder.fit(list(texts.values()))
    index = EmbeddedIndex(directory)
    vectors = embedder.embed_documents(list(texts.values()))
    counts = analyzer.indexed_counts if grams else analyzer.term_counts
    index.upsert(
        target,
        [
            IndexedRecord(i, f"{prefix}-{i}", vectors[n], counts(text), attributes(i))
            for n, (i, text) in enumerate(texts.items())
        ],
    )
    return Matcher(index, embedder, analyzer, settings)

"""What holding the static embedder's vocabulary as float16 costs in embedding speed.

    python bench/static_embedding.py [--fit-cache DIR] [--rounds 7]

Fits ``static-use-e5`` on the 1,000 CSL papers (or reuses a fit of them from ``--fit-cache``),
then embeds their analysed term counts three times over, 256 at a time, with three ways of
summing the term rows, each round in turn, and prints the median rate of each against the
float32 vocabulary summed one document at a time (the code before stop 10) as the baseline.
Every term is in the fit, as in a real build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from matching import CHOSEN, fit_embedder, load_csl  # noqa: E402
from shelfbridge.matching.analysis import default_analyzer  # noqa: E402
from shelfbridge.matching.embedders.base import create_embedder  # noqa: E402
from shelfbridge.matching.embedders.static import StaticEmbedder  # noqa: E402

BATCH = 256
Raw = Callable[[Any, Sequence[Mapping[str, int]]], Any]


def per_document(self: StaticEmbedder, documents: Sequence[Mapping[str, int]]) -> Any:
    """One weighted sum of term rows per document (unseen terms left out: a fitted corpus
    has none)."""
    out = np.zeros((len(documents), self.term_model.dim), dtype=np.float32)
    for row, counts in enumerate(documents):
        rows = [self._terms[t] for t in counts if t in self._terms]
        weights = [self._weight(t) * counts[t] for t in counts if t in self._terms]
        if rows:
            out[row] = np.asarray(weights, dtype=np.float32) @ self._vectors[rows].astype(
                np.float32
            )
    return out


def fitted(directory: Path, cache: Path | None, texts: list[str]) -> StaticEmbedder:
    state = directory / CHOSEN
    if cache is not None and (cache / CHOSEN / "state.json").exists():
        shutil.copytree(cache / CHOSEN, state, dirs_exist_ok=True)
    embedder = create_embedder(CHOSEN, cache_dir=directory)
    assert isinstance(embedder, StaticEmbedder)
    if not (state / "state.json").exists():
        fit_embedder(embedder, texts)
        if cache is not None:
            shutil.copytree(state, cache / CHOSEN, dirs_exist_ok=True)
    embedder.embed_documents(["预热"])  # loads the fit
    return embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-cache", type=Path, help="reuse (or keep) the fit of CSL papers")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    papers = load_csl()
    texts = [f"{p['title']}\n{' '.join(p['keywords'])}\n{p['abstract']}" for p in papers]
    with tempfile.TemporaryDirectory() as work:
        embedder = fitted(Path(work), args.fit_cache, texts)
        analyzer = default_analyzer()
        counts = [analyzer.term_counts(t) for t in texts] * 3
        half = embedder._vectors
        single = half.astype(np.float32)
        ways: list[tuple[str, Any, Raw]] = [
            ("float32 vocabulary, one sum per document (before)", single, per_document),
            ("float16 vocabulary, one sum per document", half, per_document),
            ("float16 vocabulary, one sparse product per batch (now)", half, StaticEmbedder._raw),
        ]
        rates: dict[str, list[float]] = {name: [] for name, _, _ in ways}
        for _ in range(args.rounds):
            for name, vocabulary, raw in ways:
                embedder._vectors = vocabulary
                embedder._raw = types.MethodType(raw, embedder)  # type: ignore[method-assign]
                started = time.perf_counter()
                for start in range(0, len(counts), BATCH):
                    embedder.embed_term_counts(counts[start : start + BATCH])
                rates[name].append(len(counts) / (time.perf_counter() - started))
    baseline = statistics.median(rates[ways[0][0]])
    print(f"# Static embedding of {len(counts):,} analysed CSL papers, batches of {BATCH}")
    print(f"(median of {args.rounds} rounds; vocabulary {len(half):,} terms × {half.shape[1]})\n")
    print("| summing | vocabulary in memory | records/s | vs before |")
    print("|---|---:|---:|---:|")
    for name, vocabulary, _ in ways:
        rate = statistics.median(rates[name])
        size = f"{vocabulary.nbytes / 1e6:.1f} MB"
        print(f"| {name} | {size} | {rate:,.0f} | {rate / baseline:.2f}× |")


if __name__ == "__main__":
    main()

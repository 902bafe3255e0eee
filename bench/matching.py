"""Matching benchmark: quality on real data against baselines, then speed and size.

    python bench/matching.py                       # quality + speed at 10k and 100k records
    python bench/matching.py --sizes 10000         # quick
    python bench/matching.py --sizes 10000,100000,1000000
    python bench/matching.py --skip-speed --embedders static-use-e5,static-e5

Quality (datasets/, labels only to judge, never seen by the matcher):
  known item  a CSL paper's title, and separately its keyword list, against the 1,000 abstracts
              (titles and keywords left out of the indexed text): MRR@10, Recall@1;
  topical     the 67 CSL discipline names against the 1,000 papers (title + keywords + abstract)
              and the 94 NKRDP programme names against the 2,579 project titles: nDCG@10,
              P@10, Recall@100.
Baselines run in the same process: BM25 (bm25s, jieba search-mode tokens), dense-only with the
chosen embedder (plain cosine) and their reciprocal-rank fusion (k = 60); USE dense is shown for
reference (the issue's figures). The matcher's knobs were chosen on the even-numbered topical
queries; the odd-numbered ones are reported apart as held-out.

Speed (one process per size, so peak memory is the size's own): real records (CSL papers,
NKRDP titles, CSL titles) padded with synthetic records whose words are drawn from the real
records' word frequencies and whose lengths follow the real lengths, regenerated from a seed on
each pass rather than held. Build = two streamed passes as in ``MatchRuntime.rebuild``: fit the
embedder (vocabulary and map), then analyse + embed + index 10,000 records at a time; query =
analysis + query embedding + lexical + dense + feedback + smoothing, one query at a time. The
CPU time per query (all threads) and the load average are printed beside the latencies: on a
shared machine the latency follows the load, the CPU time much less. The p95 of the same 161
topical names written in English (``datasets/crosslingual/``) is printed apart: an English
query is bridged to Chinese words, which costs a second query embedding. So is the p95 of the
same Chinese queries in exact mode (only records that hold the query as typed), which reads the
stored terms of every candidate of both rounds.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from shelfbridge.matching.analysis import default_analyzer  # noqa: E402
from shelfbridge.matching.embedders.base import create_embedder, densities_of  # noqa: E402
from shelfbridge.matching.index.base import IndexedRecord  # noqa: E402
from shelfbridge.matching.index.embedded import EmbeddedIndex  # noqa: E402
from shelfbridge.matching.ranking import DEFAULT_RANKING, Matcher, RankingSettings  # noqa: E402
from shelfbridge.matching.types import MatchAttributes, MatchFilters, Scope, Target  # noqa: E402

DATA = ROOT / "datasets"
CHOSEN = "static-use-e5"
TARGET = Target.RESULTS
EVERYONE = Scope(unrestricted=True)
NO_FILTERS = MatchFilters()


# ---------------------------------------------------------------------------------- data
@dataclass
class Task:
    name: str
    kind: str  # "known" or "topical"
    corpus: str
    queries: list[str]
    relevant: list[set[int]] = field(default_factory=list)  # topical
    targets: list[int] = field(default_factory=list)  # known item


def load_csl() -> list[dict[str, Any]]:
    with open(DATA / "csl" / "csl_dev.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_nkrdp() -> list[dict[str, str]]:
    with open(DATA / "nkrdp" / "PubNKRDP.csv", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row["title"].strip()]


def load_csl_titles() -> list[str]:
    with open(DATA / "csl" / "csl_titles.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["title"] for line in fh if line.strip()]


def corpora() -> tuple[dict[str, list[str]], list[Task]]:
    csl, nkrdp = load_csl(), load_nkrdp()
    texts = {
        "csl-abstracts": [p["abstract"] for p in csl],
        "csl-papers": [f"{p['title']}\n{' '.join(p['keywords'])}\n{p['abstract']}" for p in csl],
        "nkrdp-titles": [r["title"] for r in nkrdp],
    }
    disciplines = sorted({p["discipline"] for p in csl})
    programmes = sorted({r["type"] for r in nkrdp})
    every = list(range(len(csl)))
    tasks = [
        Task(
            "CSL title → abstract", "known", "csl-abstracts", [p["title"] for p in csl], [], every
        ),
        Task(
            "CSL keywords → abstract",
            "known",
            "csl-abstracts",
            [" ".join(p["keywords"]) for p in csl],
            [],
            every,
        ),
        Task(
            "CSL disciplines (67)",
            "topical",
            "csl-papers",
            disciplines,
            [{i for i, p in enumerate(csl) if p["discipline"] == d} for d in disciplines],
        ),
        Task(
            "NKRDP programmes (94)",
            "topical",
            "nkrdp-titles",
            programmes,
            [{i for i, r in enumerate(nkrdp) if r["type"] == t} for t in programmes],
        ),
    ]
    return texts, tasks


# ---------------------------------------------------------------------------------- metrics
def ndcg10(ranked: Sequence[int], relevant: set[int]) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    return dcg / ideal if ideal else 0.0


def topical_metrics(rankings: list[list[int]], relevant: list[set[int]]) -> dict[str, float]:
    return {
        "nDCG@10": float(np.mean([ndcg10(r, s) for r, s in zip(rankings, relevant, strict=True)])),
        "P@10": float(
            np.mean(
                [sum(d in s for d in r[:10]) / 10 for r, s in zip(rankings, relevant, strict=True)]
            )
        ),
        "R@100": float(
            np.mean(
                [
                    sum(d in s for d in r[:100]) / len(s)
                    for r, s in zip(rankings, relevant, strict=True)
                ]
            )
        ),
    }


def known_metrics(rankings: list[list[int]], targets: list[int]) -> dict[str, float]:
    mrr = [
        next((1 / (i + 1) for i, d in enumerate(r[:10]) if d == t), 0.0)
        for r, t in zip(rankings, targets, strict=True)
    ]
    return {
        "MRR@10": float(np.mean(mrr)),
        "R@1": float(
            np.mean(
                [1.0 if r and r[0] == t else 0.0 for r, t in zip(rankings, targets, strict=True)]
            )
        ),
    }


def score(
    task: Task, rankings: list[list[int]], subset: Sequence[int] | None = None
) -> dict[str, float]:
    pick = range(len(task.queries)) if subset is None else subset
    if task.kind == "known":
        return known_metrics([rankings[i] for i in pick], [task.targets[i] for i in pick])
    return topical_metrics([rankings[i] for i in pick], [task.relevant[i] for i in pick])


# ---------------------------------------------------------------------------------- systems
Ranker = Callable[[list[str]], list[list[int]]]


def bm25s_ranker(docs: list[str]) -> Ranker:
    import bm25s
    import jieba

    def tokens(text: str) -> list[str]:
        return [t for t in jieba.lcut_for_search(text.lower()) if t.strip() and t.isalnum()]

    retriever = bm25s.BM25()
    retriever.index([tokens(d) for d in docs], show_progress=False)

    def rank(queries: list[str]) -> list[list[int]]:
        out = []
        for q in queries:
            toks = tokens(q) or ["_"]
            found, _ = retriever.retrieve([toks], k=min(100, len(docs)), show_progress=False)
            out.append([int(x) for x in found[0]])
        return out

    return rank


def dense_ranker(
    doc_vectors: np.ndarray, embed_queries: Callable[[list[str]], np.ndarray]
) -> Ranker:
    def rank(queries: list[str]) -> list[list[int]]:
        scores = embed_queries(queries) @ doc_vectors.T
        return [list(np.argsort(-row, kind="stable")[:100]) for row in scores]

    return rank


def rrf(a: Ranker, b: Ranker, k: int = 60) -> Ranker:
    def rank(queries: list[str]) -> list[list[int]]:
        out = []
        for ra, rb in zip(a(queries), b(queries), strict=True):
            fused: dict[int, float] = {}
            for ranking in (ra, rb):
                for i, d in enumerate(ranking):
                    fused[d] = fused.get(d, 0.0) + 1 / (k + i + 1)
            out.append(sorted(fused, key=lambda d: (-fused[d], d))[:100])
        return out

    return rank


@dataclass
class Built:
    index: EmbeddedIndex
    embedder: Any
    doc_vectors: np.ndarray
    seconds: float


def build_index(
    docs: Sequence[str],
    embedder_name: str,
    directory: Path,
    *,
    batch: int = 5000,
    fit_cache: Path | None = None,
) -> Built:
    """Fit the embedder (or reuse a fit of the same corpus from ``fit_cache``), analyse,
    embed and index ``docs``; the document vectors are kept for the dense baseline."""
    started = time.perf_counter()
    state = directory / "embedders" / embedder_name
    cached = fit_cache / embedder_name if fit_cache is not None else None
    if cached is not None and (cached / "state.json").exists():
        shutil.copytree(cached, state, dirs_exist_ok=True)
    embedder = create_embedder(embedder_name, cache_dir=directory / "embedders")
    if not (state / "state.json").exists():
        fit_embedder(embedder, docs)
        if cached is not None and (state / "state.json").exists():
            shutil.copytree(state, cached, dirs_exist_ok=True)
    index = EmbeddedIndex(directory / "index")
    vectors: list[np.ndarray] = []
    index_texts(index, embedder, docs, batch=batch, keep=vectors.append)
    return Built(index, embedder, np.vstack(vectors), time.perf_counter() - started)


def fit_embedder(embedder: Any, texts: Iterable[str]) -> None:
    """Pass 1 of a build, as ``MatchRuntime`` does it: a corpus-fitted embedder reads the
    texts as a stream (it keeps the document frequencies and a sample, not the texts)."""
    fit = getattr(embedder, "fit", None)
    if callable(fit):
        fit(iter(texts))


def index_texts(
    index: EmbeddedIndex,
    embedder: Any,
    texts: Iterable[str],
    *,
    batch: int,
    keep: Callable[[np.ndarray], None] | None = None,
) -> int:
    """Pass 2: analyse, embed (with the neighbourhood densities, as ``MatchRuntime.records_for``
    does) and upsert ``batch`` texts at a time (record ids from 0), then compact. Only one
    batch's terms and vectors are in memory at once; ``keep`` receives each batch's vectors
    when the caller wants them. Returns the number of records."""
    analyzer = default_analyzer()
    done = 0
    for chunk in batched(texts, batch):
        counts = [analyzer.indexed_counts(text) for text in chunk]
        if hasattr(embedder, "embed_term_counts"):
            vectors = embedder.embed_term_counts(counts)
        else:
            vectors = embedder.embed_documents(list(chunk))
        density = densities_of(embedder, vectors)
        index.upsert(
            TARGET,
            [
                IndexedRecord(
                    done + i, str(done + i), vectors[i], c, MatchAttributes(), float(density[i])
                )
                for i, c in enumerate(counts)
            ],
        )
        if keep is not None:
            keep(vectors)
        done += len(chunk)
    index.compact(TARGET)
    return done


def batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Lists of ``size`` consecutive items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def matcher_ranker(built: Built, settings: RankingSettings = DEFAULT_RANKING) -> Ranker:
    matcher = Matcher(built.index, built.embedder, default_analyzer(), settings)

    def rank(queries: list[str]) -> list[list[int]]:
        return [
            [hit[0] for hit in matcher.search(TARGET, q, NO_FILTERS, EVERYONE, 100)]
            for q in queries
        ]

    return rank


# ---------------------------------------------------------------------------------- quality
VARIANTS = {
    "matcher": DEFAULT_RANKING,
    "  − feedback": RankingSettings(feedback_documents=0),
    "  − smoothing": RankingSettings(smoothing_weight=0.0),
    "  − feedback − smoothing": RankingSettings(feedback_documents=0, smoothing_weight=0.0),
    "  − grams": RankingSettings(gram_share=0.0),
}


def quality(
    embedders: list[str], workdir: Path, reference: bool, fit_cache: Path | None = None
) -> list[str]:
    texts, tasks = corpora()
    rows: dict[str, dict[str, dict[str, float]]] = {}
    held: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}
    odd = {t.name: [i for i in range(len(t.queries)) if i % 2 == 1] for t in tasks}

    def record(system: str, task: Task, rankings: list[list[int]]) -> None:
        rows.setdefault(system, {})[task.name] = score(task, rankings)
        if task.kind == "topical":
            held.setdefault(system, {})[task.name] = score(task, rankings, odd[task.name])[
                "nDCG@10"
            ]

    bm25 = {name: bm25s_ranker(docs) for name, docs in texts.items()}
    for task in tasks:
        record("BM25 (bm25s + jieba)", task, bm25[task.corpus](task.queries))
    if reference:
        use = create_embedder("use")
        vectors = {name: use.embed_documents(docs) for name, docs in texts.items()}
        for task in tasks:
            dense = dense_ranker(vectors[task.corpus], lambda q: use.embed_queries(q))
            record("USE dense (reference)", task, dense(task.queries))
            record("RRF(BM25, USE dense)", task, rrf(bm25[task.corpus], dense)(task.queries))
    for name in embedders:
        built = {
            corpus: build_index(
                docs,
                name,
                workdir / name / corpus,
                fit_cache=fit_cache / corpus if fit_cache is not None else None,
            )
            for corpus, docs in texts.items()
        }
        timings[name] = sum(b.seconds for b in built.values())
        for task in tasks:
            b = built[task.corpus]
            dense = dense_ranker(b.doc_vectors, lambda q, e=b.embedder: e.embed_queries(q))
            record(f"dense {name}", task, dense(task.queries))
            record(f"RRF(BM25, dense {name})", task, rrf(bm25[task.corpus], dense)(task.queries))
            for label, settings in VARIANTS.items():
                if task.kind == "known" and settings is not DEFAULT_RANKING:
                    continue  # ablations on the topical tasks only (they are what they change)
                record(f"{label} [{name}]", task, matcher_ranker(b, settings)(task.queries))
    return quality_table(rows, held, tasks, timings)


def quality_table(
    rows: dict[str, dict[str, dict[str, float]]],
    held: dict[str, dict[str, float]],
    tasks: list[Task],
    timings: dict[str, float],
) -> list[str]:
    head = ["system", "title MRR@10", "R@1", "kw MRR@10", "R@1"]
    for short in ("CSL", "NKRDP"):
        head += [f"{short} nDCG@10", "P@10", "R@100", "held-out nDCG"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for system, by_task in rows.items():
        cells = [system]
        for task in tasks:
            if task.name not in by_task:
                cells += ["–"] * (2 if task.kind == "known" else 4)
                continue
            cells += [f"{v:.3f}" for v in by_task[task.name].values()]
            if task.kind == "topical":
                cells.append(f"{held[system][task.name]:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    baselines = [s for s in rows if s.startswith(("BM25", "USE dense", "RRF", "dense "))]
    lines.append("")
    for task in tasks:
        if task.kind != "topical":
            continue
        best_base = max(baselines, key=lambda s: rows[s][task.name]["nDCG@10"])
        base = rows[best_base][task.name]["nDCG@10"]
        for system in rows:
            if system.startswith("matcher"):
                mine = rows[system][task.name]["nDCG@10"]
                lines.append(
                    f"- {task.name}: {system} {mine:.3f} = {mine / base:.2f}× the best baseline "
                    f"({best_base}, {base:.3f}); target ≥ 1.30×"
                )
    bm = rows["BM25 (bm25s + jieba)"]["CSL title → abstract"]["MRR@10"]
    for system in rows:
        if system.startswith("matcher") and "CSL title → abstract" in rows[system]:
            mine = rows[system]["CSL title → abstract"]["MRR@10"]
            lines.append(f"- known item: {system} title MRR@10 {mine:.3f} vs BM25 {bm:.3f}")
    for name, seconds in timings.items():
        lines.append(f"- {name}: fit + index of the three corpora (4,579 records) {seconds:.0f} s")
    return lines


# ---------------------------------------------------------------------------------- speed
SYNTHETIC_CHUNK = 10_000  # synthetic records drawn at a time (their word ids are int64)


@dataclass(frozen=True)
class SyntheticCorpus:
    """``size`` records: the real ones first, then synthetic ones (words drawn from the real
    word frequencies, lengths from the real lengths).

    Each iteration regenerates the same texts from ``seed``, so a build can read the corpus
    twice (fit, then index) without holding a million texts. Drawing the words a chunk at a
    time gives the same texts as one draw: numpy's ``choice`` with ``p`` takes one uniform
    number per word, in order."""

    size: int
    real: list[str]
    vocab: npt.NDArray[np.str_]
    p: npt.NDArray[np.float64]
    lengths: npt.NDArray[np.int64]
    seed: int = 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[str]:
        yield from self.real
        need = self.size - len(self.real)
        if need <= 0:
            return
        rng = np.random.default_rng(self.seed)
        sizes = rng.choice(self.lengths, size=need)
        for start in range(0, need, SYNTHETIC_CHUNK):
            chunk = sizes[start : start + SYNTHETIC_CHUNK]
            drawn = rng.choice(len(self.vocab), size=int(chunk.sum()), p=self.p)
            pos = 0
            for n in chunk:
                tokens = self.vocab[drawn[pos : pos + n]]
                pos += n
                yield "".join(t if not t.isascii() else f" {t} " for t in tokens)


def synthetic_corpus(size: int, seed: int = 0) -> SyntheticCorpus:
    """The speed corpus of ``size`` records (see :class:`SyntheticCorpus`)."""
    import jieba

    texts, _ = corpora()
    real = (texts["csl-papers"] + texts["nkrdp-titles"] + load_csl_titles())[:size]
    words: dict[str, int] = {}
    lengths = []
    if len(real) < size:
        for text in real:
            tokens = [t for t in jieba.lcut(text) if t.strip()]
            lengths.append(len(tokens))
            for t in tokens:
                words[t] = words.get(t, 0) + 1
    p = np.array(list(words.values()), dtype=np.float64)
    return SyntheticCorpus(
        size=size,
        real=real,
        vocab=np.array(list(words), dtype=np.str_),
        p=p / p.sum() if p.size else p,
        lengths=np.array(lengths, dtype=np.int64),
        seed=seed,
    )


def speed_build(size: int, embedder: str, directory: Path) -> dict[str, Any]:
    """Build as ``MatchRuntime.rebuild`` does, in two passes over a regenerated stream: fit
    the embedder, then analyse + embed + upsert a batch at a time and compact. Neither the
    texts nor their terms or vectors are ever all in memory (at 1M records they were
    several GB)."""
    corpus = synthetic_corpus(size)
    started = time.perf_counter()
    model = create_embedder(embedder, cache_dir=directory / "embedders")
    fit_embedder(model, corpus)
    index_texts(EmbeddedIndex(directory / "index"), model, corpus, batch=10_000)
    seconds = time.perf_counter() - started
    return {
        "size": size,
        "real": len(corpus.real),
        "build_s": seconds,
        "rate": size / seconds,
        "build_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def speed_query(size: int, embedder: str, directory: Path, count: int) -> dict[str, Any]:
    _, tasks = corpora()
    queries = tasks[2].queries + tasks[3].queries + tasks[0].queries[: max(0, count - 161)]
    index = EmbeddedIndex(directory / "index")
    model = create_embedder(embedder, cache_dir=directory / "embedders")
    matcher = Matcher(index, model, default_analyzer())
    for q in queries[:5]:
        matcher.search(TARGET, q, NO_FILTERS, EVERYONE, 10)
    latencies = []
    cpu = time.process_time()  # every thread of the process: the work, whatever the load
    for q in queries[:count]:
        t = time.perf_counter()
        matcher.search(TARGET, q, NO_FILTERS, EVERYONE, 10)
        latencies.append((time.perf_counter() - t) * 1000)
    cpu = time.process_time() - cpu
    english = []  # the same topical names in English: bridged, one more query embedding
    for q in english_names(tasks[2]) + english_names(tasks[3]):
        t = time.perf_counter()
        matcher.search(TARGET, q, NO_FILTERS, EVERYONE, 10)
        english.append((time.perf_counter() - t) * 1000)
    exact = []  # the Chinese queries again in exact mode: the candidates' stored terms are read
    for q in queries[:count]:
        t = time.perf_counter()
        matcher.search(TARGET, q, NO_FILTERS, EVERYONE, 10, exact=True)
        exact.append((time.perf_counter() - t) * 1000)
    return {
        "p50_ms": float(np.percentile(latencies, 50)),
        "p95_ms": float(np.percentile(latencies, 95)),
        "en_p95_ms": float(np.percentile(english, 95)),
        "exact_p95_ms": float(np.percentile(exact, 95)),
        "cpu_ms": cpu * 1000 / max(1, len(latencies)),
        "load": os.getloadavg()[0],
        "query_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "disk_mb": sum(f.stat().st_size for f in (directory / "index").rglob("*") if f.is_file())
        / 2**20,
    }


def english_names(task: Task) -> list[str]:
    """A topical task's query names written in English by hand (``datasets/crosslingual/``)."""
    files = {"csl-papers": "csl_disciplines_en.json", "nkrdp-titles": "nkrdp_programmes_en.json"}
    path = DATA / "crosslingual" / files[task.corpus]
    names: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return [names[q] for q in task.queries]


def speed(sizes: list[int], embedder: str, workdir: Path, queries: int) -> list[str]:
    lines = [
        "| records | of which synthetic | build (records/s) | build time | p50 query | p95 query | "
        "CPU per query | load | p95 English query | p95 exact mode | peak RSS build | "
        "peak RSS query | index on disk | targets |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        directory = workdir / f"speed-{size}"
        result: dict[str, Any] = {}
        for phase in ("build", "query"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    f"--worker={phase}",
                    f"--worker-size={size}",
                    f"--worker-dir={directory}",
                    f"--embedders={embedder}",
                    f"--queries={queries}",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            result.update(json.loads(out.stdout.strip().splitlines()[-1]))
        targets = []
        if size == 100_000:
            targets.append(f"p95 ≤ 50 ms {'✓' if result['p95_ms'] <= 50 else '✗'}")
            targets.append(f"build ≤ 10 min {'✓' if result['build_s'] <= 600 else '✗'}")
        if size == 1_000_000:
            targets.append(f"p95 ≤ 200 ms {'✓' if result['p95_ms'] <= 200 else '✗'}")
            peak = max(result["build_rss_mb"], result["query_rss_mb"])
            targets.append(f"RSS ≤ 2 GB {'✓' if peak <= 2048 else '✗'}")
        lines.append(
            f"| {size:,} | {size - result['real']:,} | {result['rate']:.0f} | "
            f"{result['build_s']:.0f} s | {result['p50_ms']:.1f} ms | {result['p95_ms']:.1f} ms | "
            f"{result['cpu_ms']:.1f} ms | {result['load']:.1f} | {result['en_p95_ms']:.1f} ms | "
            f"{result['exact_p95_ms']:.1f} ms | "
            f"{result['build_rss_mb']:.0f} MB | {result['query_rss_mb']:.0f} MB | "
            f"{result['disk_mb']:.0f} MB | {', '.join(targets)} |"
        )
    return lines


# ---------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--embedders", default=CHOSEN)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--no-reference", action="store_true", help="skip the USE dense rows")
    parser.add_argument("--workdir", default=None)
    parser.add_argument(
        "--fit-cache",
        default=None,
        help="keep (and reuse) the quality corpora's embedder fits here; a reused fit is "
        "marked in the table and its time is not a fit's",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    embedders = [e for e in args.embedders.split(",") if e]
    if args.worker:
        directory = Path(args.worker_dir)
        if args.worker == "build":
            print(json.dumps(speed_build(args.worker_size, embedders[0], directory)))
        else:
            print(json.dumps(speed_query(args.worker_size, embedders[0], directory, args.queries)))
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        print(
            f"# Shelfbridge matching benchmark ({os.cpu_count()} CPUs, OMP_NUM_THREADS="
            f"{os.environ.get('OMP_NUM_THREADS')})\n"
        )
        if not args.skip_quality:
            print("## Quality\n")
            cache = Path(args.fit_cache) if args.fit_cache else None
            print("\n".join(quality(embedders, workdir, not args.no_reference, cache)), flush=True)
            if cache is not None:
                print("- embedder fits reused from --fit-cache where present (times exclude them)")
        if not args.skip_speed:
            sizes = [int(s) for s in args.sizes.split(",") if s]
            print(
                f"\n## Speed and size ({embedders[0]}, real records padded with synthetic ones)\n"
            )
            print("\n".join(speed(sizes, embedders[0], workdir, args.queries)), flush=True)


if __name__ == "__main__":
    main()

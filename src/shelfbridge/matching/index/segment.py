"""One immutable segment of the embedded index: arrays over a fixed set of records.

A segment holds, for ``n`` records in row order:

- ``ids`` (``int64``) and the external ids (one UTF-8 blob with offsets);
- ``vectors``: the dense vectors quantised to ``int8`` with one ``float32`` scale per row
  (``vector ≈ scale × int8 row``: a quarter of the memory of ``float32``; scored by converting a
  cache-sized block at a time to ``float32``, which costs about what the product does, where
  numpy's ``float16`` conversion cost ten times the product), and each record's neighbourhood
  ``density`` (subtracted from dense scores, see :data:`~.base.DENSITY_PENALTY`). Large
  segments also carry an inverted-file (IVF) partition learned from their own vectors with
  spherical k-means: rows are stored grouped by their nearest centroid, and a query scores only
  the rows of the centroids closest to it;
- the term matrix twice, by term (postings, for BM25) and by document (for feedback), with
  ``uint8`` term frequencies and the document lengths. Term ids ``0 … len(terms) - 1`` are the
  words (``terms``, in ``meta.json``); the ids after them are the grams (character bigrams, see
  :mod:`shelfbridge.matching.analysis`), held as one sorted ``uint32`` array of their two code
  points (``gram_codes``), looked up with ``searchsorted``: a million records carry millions of
  distinct grams, and held as Python strings in the term list and its dictionary they brought
  the 1M benchmark's peak memory to 2.0 GB (1.36 GB as codes);
- the attribute :class:`~.columns.Columns`.

On disk a segment is a directory of ``.npy`` files plus ``meta.json``, opened with memory maps,
so a reader's memory holds only the pages its queries touch.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfbridge.matching.analysis import GRAM_MARK, with_grams
from shelfbridge.matching.index.base import DENSITY_PENALTY, IndexedRecord
from shelfbridge.matching.index.columns import BoolArray, Columns, concat_columns
from shelfbridge.matching.lexical import DEFAULT_BM25, BM25Parameters, saturation

F32 = npt.NDArray[np.float32]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
NO_GRAMS: U32 = np.zeros(0, dtype=np.uint32)

IVF_MIN_ROWS = 32_768  # below this a brute-force scan is as fast as probing lists
IVF_SCAN_FRACTION = 0.08  # share of a segment's rows a dense query scores (at least)
IVF_MIN_PROBES = 24
KMEANS_SAMPLE = 16_384
KMEANS_ITERATIONS = 8
KMEANS_BLOCK = 8192  # rows assigned at a time (converted to float32 a block at a time)
SMALL_FLOAT32 = 65_536  # segments up to this many rows keep a float32 copy of their vectors
SCORE_BLOCK = 4096  # int8 rows converted to float32 at a time while scoring (6 MB: stays in cache)


@dataclass
class Segment:
    ids: I64
    external_blob: npt.NDArray[np.uint8]
    external_offsets: I64
    vectors: I8  # row ≈ scales[row] × vectors[row]
    scales: F32
    density: F32
    centroids: F32 | None  # IVF centroids, or None for a flat segment
    list_offsets: I64 | None  # rows of list i: list_offsets[i]:list_offsets[i+1]
    terms: list[str]  # the words: term ids 0 … len(terms) - 1
    gram_codes: U32  # the grams (sorted codes, see gram_code): term ids from len(terms) on
    post_indptr: I64
    post_rows: npt.NDArray[np.int32]
    post_tf: npt.NDArray[np.uint8]
    doc_indptr: I64
    doc_terms: npt.NDArray[np.int32]
    doc_tf: npt.NDArray[np.uint8]
    doc_length: npt.NDArray[np.float32]
    columns: Columns
    name: str = ""

    def __post_init__(self) -> None:
        self.term_index = {term: col for col, term in enumerate(self.terms)}
        self.id_order = np.argsort(self.ids, kind="stable")
        self.sorted_ids = self.ids[self.id_order]
        self._vectors32: F32 | None = None

    # -- shape -------------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        return int(self.ids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def total_length(self) -> float:
        return float(self.doc_length.sum(dtype=np.float64))

    def document_frequencies(self, terms: Sequence[str]) -> I64:
        """How many rows hold each term (0 where none does)."""
        cols = self.term_ids(terms)
        found = cols >= 0
        out = np.zeros(len(terms), dtype=np.int64)
        held = cols[found]
        out[found] = self.post_indptr[held + 1] - self.post_indptr[held]
        return out

    def term_ids(self, terms: Sequence[str]) -> I64:
        """The column of each term, -1 where no record here holds it; the grams are found
        with one ``searchsorted`` (of ``uint32`` values: another type would convert the whole
        array on every call)."""
        out = np.full(len(terms), -1, dtype=np.int64)
        places: list[int] = []
        codes: list[int] = []
        index = self.term_index
        for place, term in enumerate(terms):
            code = gram_code(term)
            if code is None:
                out[place] = index.get(term, -1)
            else:
                places.append(place)
                codes.append(code)
        held = self.gram_codes
        if codes and held.shape[0]:
            wanted = np.array(codes, dtype=np.uint32)
            at = np.minimum(np.searchsorted(held, wanted), held.shape[0] - 1)
            hit = held[at] == wanted
            out[np.array(places)[hit]] = len(self.terms) + at[hit]
        return out

    def term(self, col: int) -> str:
        words = len(self.terms)
        return self.terms[col] if col < words else gram_term(int(self.gram_codes[col - words]))

    def rows_of(self, record_ids: npt.ArrayLike) -> I64:
        """Row of each id, or -1 where the segment lacks it."""
        wanted = np.asarray(record_ids, dtype=np.int64)
        if self.rows == 0:
            return np.full(wanted.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.sorted_ids, wanted)
        pos = np.minimum(pos, self.rows - 1)
        found = self.sorted_ids[pos] == wanted
        return np.where(found, self.id_order[pos], -1).astype(np.int64)

    def external_id(self, row: int) -> str:
        start, end = int(self.external_offsets[row]), int(self.external_offsets[row + 1])
        return bytes(self.external_blob[start:end]).decode("utf-8")

    def vectors32(self, rows: I64 | None = None) -> F32:
        if self.rows <= SMALL_FLOAT32:
            if self._vectors32 is None:
                self._vectors32 = dequantise(self.vectors, self.scales)
            return self._vectors32 if rows is None else self._vectors32[rows]
        if rows is None:
            return dequantise(self.vectors, self.scales)
        return dequantise(self.vectors[rows], self.scales[rows])

    def term_counts(self, row: int) -> dict[str, int]:
        start, end = int(self.doc_indptr[row]), int(self.doc_indptr[row + 1])
        columns = np.asarray(self.doc_terms[start:end]).tolist()
        counts = np.asarray(self.doc_tf[start:end]).tolist()
        term = self.term
        return {term(c): tf for c, tf in zip(columns, counts, strict=True)}

    def holding(self, rows: I64, terms: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Whether each of ``rows`` holds every one of ``terms``: its stored terms (by document)
        gathered in one array and tested against the terms' columns, not decoded to strings.
        A row stored without grams (indexed before them) is tested through the grams inside
        its words (:func:`~..analysis.with_grams`)."""
        count = rows.shape[0]
        if not terms or count == 0:
            return np.ones(count, dtype=np.bool_)
        starts = self.doc_indptr[rows]
        lengths = self.doc_indptr[rows + 1] - starts
        stored = np.asarray(self.doc_terms[_ranges(starts, lengths)])
        owner = np.repeat(np.arange(count), lengths)
        columns = np.unique(self.term_ids(terms))
        if columns[0] < 0:  # a term no row here holds as stored
            out = np.zeros(count, dtype=np.bool_)
        else:
            found = np.bincount(owner[np.isin(stored, columns)], minlength=count)
            out = np.asarray(found == columns.shape[0])
        if any(gram_code(t) is not None for t in terms):
            gramless = np.bincount(owner[stored >= len(self.terms)], minlength=count) == 0
            for n in np.flatnonzero(gramless).tolist():
                held = with_grams(self.term_counts(int(rows[n])))
                out[n] = all(t in held for t in terms)
        return out

    def records(self, rows: I64) -> list[IndexedRecord]:
        vectors = self.vectors32(rows)
        return [
            IndexedRecord(
                record_id=int(self.ids[row]),
                external_id=self.external_id(int(row)),
                vector=vectors[i],
                term_counts=self.term_counts(int(row)),
                attributes=self.columns.attributes(int(row)),
                density=float(self.density[row]),
            )
            for i, row in enumerate(rows)
        ]

    # -- scoring -----------------------------------------------------------------------------

    def lexical(
        self,
        weights: Mapping[str, float],
        average_length: float,
        mask: BoolArray | None,
        limit: int,
        parameters: BM25Parameters = DEFAULT_BM25,
    ) -> tuple[I64, F32]:
        """BM25 of every row with a query term; ``weights`` are query weight × IDF."""
        columns: list[int] = []
        factors: list[float] = []
        for col, weight in zip(
            self.term_ids(list(weights)).tolist(), weights.values(), strict=True
        ):
            if col < 0 or weight == 0:
                continue
            columns.append(col)
            factors.append(weight)
        if not columns:
            return _empty()
        # every query term's postings in one pass (a feedback query has 15-25 terms; numpy
        # calls per term were most of the cost), in term order as before, so the sums match
        chosen = np.asarray(columns, dtype=np.int64)
        starts = self.post_indptr[chosen]
        counts = self.post_indptr[chosen + 1] - starts
        take = _ranges(starts, counts)
        rows = np.asarray(self.post_rows[take])
        sat = saturation(self.post_tf[take], self.doc_length[rows], average_length, parameters)
        scores = sat * np.repeat(np.asarray(factors, dtype=np.float32), counts)
        if len(columns) > 1:
            totals = np.bincount(rows, weights=scores, minlength=self.rows).astype(np.float32)
            hit = np.flatnonzero(totals)
            rows, scores = hit.astype(np.int32), totals[hit]
        if mask is not None:
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        return _top(rows.astype(np.int64), scores, limit)

    def dense(
        self, vector: F32, mask: BoolArray | None, limit: int, scan_fraction: float | None = None
    ) -> tuple[I64, F32]:
        """Inner product with the stored vectors (all rows, or the probed IVF lists) minus
        the density penalty."""
        if self.rows == 0:
            return _empty()
        query = np.asarray(vector, dtype=np.float32)
        if self.centroids is None or self.list_offsets is None:
            scores = self.vectors32() @ query
            rows = np.arange(self.rows, dtype=np.int64)
        else:
            starts, ends = self.probed_ranges(query, scan_fraction)
            rows = _ranges(starts, ends - starts)
            scores = self._scan(starts, ends, query, int(rows.size))
        scores -= DENSITY_PENALTY * self.density[rows]
        if mask is not None:
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        return _top(rows, scores.astype(np.float32, copy=False), limit)

    def _scan(self, starts: I64, ends: I64, query: F32, total: int) -> F32:
        """Inner products of the rows in the runs ``starts[i]:ends[i]``: a list's rows are
        contiguous, so each run is read in place (gathering a quarter of the segment first
        cost more than the product), ``SCORE_BLOCK`` rows converted at a time."""
        if self.rows <= SMALL_FLOAT32:
            wide = self.vectors32()
            return np.concatenate(
                [wide[a:b] @ query for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
            )
        out = np.empty(total, dtype=np.float32)
        block = np.empty((SCORE_BLOCK, self.dim), dtype=np.float32)
        at = 0
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            for start in range(a, b, SCORE_BLOCK):
                size = min(SCORE_BLOCK, b - start)
                np.copyto(block[:size], self.vectors[start : start + size], casting="unsafe")
                np.matmul(block[:size], query, out=out[at : at + size])
                out[at : at + size] *= self.scales[start : start + size]
                at += size
        return out

    def probed_ranges(self, vector: F32, scan_fraction: float | None = None) -> tuple[I64, I64]:
        """Row ranges (starts, ends) of the lists nearest to ``vector``, in row order, with
        adjacent lists joined."""
        assert self.centroids is not None and self.list_offsets is not None
        lists = self.centroids.shape[0]
        fraction = IVF_SCAN_FRACTION if scan_fraction is None else scan_fraction
        probes = min(lists, max(IVF_MIN_PROBES, math.ceil(lists * fraction)))
        nearest = np.sort(np.argpartition(-(self.centroids @ vector), probes - 1)[:probes])
        starts = self.list_offsets[nearest]
        ends = self.list_offsets[nearest + 1]
        joined = np.flatnonzero(starts[1:] != ends[:-1]) + 1  # a run ends where the next begins
        return starts[np.r_[0, joined]], ends[np.r_[joined - 1, len(ends) - 1]]

    def probe(self, vector: F32, scan_fraction: float | None = None) -> I64:
        """Rows of the lists nearest to ``vector``."""
        starts, ends = self.probed_ranges(vector, scan_fraction)
        return _ranges(starts, ends - starts)

    # -- files -------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, npt.NDArray[Any]] = {
            "ids": self.ids,
            "external_blob": self.external_blob,
            "external_offsets": self.external_offsets,
            "vectors": self.vectors,
            "scales": self.scales,
            "density": self.density,
            "post_indptr": self.post_indptr,
            "post_rows": self.post_rows,
            "post_tf": self.post_tf,
            "doc_indptr": self.doc_indptr,
            "doc_terms": self.doc_terms,
            "doc_tf": self.doc_tf,
            "doc_length": self.doc_length,
            "gram_codes": self.gram_codes,
            **self.columns.save("col_"),
        }
        if self.centroids is not None and self.list_offsets is not None:
            arrays["centroids"] = self.centroids
            arrays["list_offsets"] = self.list_offsets
        for key, array in arrays.items():
            with open(directory / f"{key}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(array))
                fh.flush()
                os.fsync(fh.fileno())
        meta = {
            "rows": self.rows,
            "dim": self.dim,
            "terms": self.terms,
            "vocabularies": self.columns.vocabularies,
            "arrays": sorted(arrays),
        }
        tmp = directory / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, directory / "meta.json")

    @classmethod
    def load(cls, directory: Path) -> Segment:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        arrays = {
            key: np.load(directory / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            for key in meta["arrays"]
        }
        vectors, scales = arrays["vectors"], arrays.get("scales")
        if scales is None:  # written before vectors were int8 (float16 rows): quantise them
            vectors, scales = quantise(vectors)
        rows = int(vectors.shape[0])
        density = arrays.get("density")
        return cls(
            ids=np.asarray(arrays["ids"], dtype=np.int64),
            external_blob=arrays["external_blob"],
            external_offsets=arrays["external_offsets"],
            vectors=vectors,
            scales=np.asarray(scales, dtype=np.float32),
            density=np.zeros(rows, np.float32) if density is None else np.asarray(density),
            centroids=np.asarray(arrays["centroids"]) if "centroids" in arrays else None,
            list_offsets=np.asarray(arrays["list_offsets"]) if "list_offsets" in arrays else None,
            terms=list(meta["terms"]),
            gram_codes=np.asarray(arrays.get("gram_codes", NO_GRAMS), dtype=np.uint32),
            post_indptr=np.asarray(arrays["post_indptr"]),
            post_rows=arrays["post_rows"],
            post_tf=arrays["post_tf"],
            doc_indptr=np.asarray(arrays["doc_indptr"]),
            doc_terms=arrays["doc_terms"],
            doc_tf=arrays["doc_tf"],
            doc_length=np.asarray(arrays["doc_length"]),
            columns=Columns.load(arrays, meta["vocabularies"], "col_"),
            name=directory.name,
        )


def build_segment(
    records: Sequence[IndexedRecord], dim: int, *, ivf_min_rows: int = IVF_MIN_ROWS
) -> Segment:
    """A segment from records (the last record wins when an id repeats)."""
    latest: dict[int, IndexedRecord] = {}
    for record in records:
        latest[record.record_id] = record
    chosen = list(latest.values())
    n = len(chosen)
    vectors = np.zeros((n, dim), dtype=np.float32)
    for row, record in enumerate(chosen):
        vectors[row] = record.vector
    quantised, scales = quantise(vectors)
    del vectors
    term_ids: dict[str, int] = {}
    doc_indptr = np.zeros(n + 1, dtype=np.int64)
    # a word's id, or (for a gram) -1 - its code, made into its id once all grams are known
    term_list: list[int] = []
    tf_list: list[int] = []
    for row, record in enumerate(chosen):
        for term, count in record.term_counts.items():
            if count > 0:
                code = gram_code(term)
                if code is None:
                    term_list.append(term_ids.setdefault(term, len(term_ids)))
                else:
                    term_list.append(-1 - code)
                tf_list.append(min(int(count), 255))
        doc_indptr[row + 1] = len(term_list)
    raw = np.array(term_list, dtype=np.int64)
    del term_list
    grams = raw < 0
    gram_codes = np.unique(-1 - raw[grams]).astype(np.uint32)
    raw[grams] = len(term_ids) + np.searchsorted(gram_codes, (-1 - raw[grams]).astype(np.uint32))
    doc_terms = raw.astype(np.int32)
    del raw, grams
    doc_tf = np.array(tf_list, dtype=np.uint8)
    doc_length = np.array([sum(r.term_counts.values()) for r in chosen], dtype=np.float32).reshape(
        n
    )
    blob, offsets = _blob([r.external_id for r in chosen])
    return _assemble(
        ids=np.array([r.record_id for r in chosen], dtype=np.int64).reshape(n),
        external_blob=blob,
        external_offsets=offsets,
        vectors=quantised,
        scales=scales,
        density=np.array([r.density for r in chosen], dtype=np.float32).reshape(n),
        terms=list(term_ids),
        gram_codes=gram_codes,
        doc_indptr=doc_indptr,
        doc_terms=doc_terms,
        doc_tf=doc_tf,
        doc_length=doc_length,
        columns=Columns.from_attributes([r.attributes for r in chosen]),
        ivf_min_rows=ivf_min_rows,
    )


def merge_segments(
    parts: Sequence[tuple[Segment, BoolArray]], dim: int, *, ivf_min_rows: int = IVF_MIN_ROWS
) -> Segment:
    """One segment with the live rows (``alive`` masks) of several.

    Each array of the result is allocated once at its final size and filled part by part, and
    the vectors stay ``int8`` throughout (the stored form): a merge of four 40,000-row
    segments peaked near 900 MB when they went through ``float32`` lists and ``vstack``.
    """
    rows = [np.flatnonzero(alive).astype(np.int64) for _, alive in parts]
    entries = [
        segment.doc_indptr[r + 1] - segment.doc_indptr[r]
        for (segment, _), r in zip(parts, rows, strict=True)
    ]
    n = sum(int(r.size) for r in rows)
    total = sum(int(c.sum()) for c in entries)
    terms: dict[str, int] = {}
    ids = np.empty(n, dtype=np.int64)
    vectors = np.empty((n, dim), dtype=np.int8)
    scales = np.empty(n, dtype=np.float32)
    density = np.empty(n, dtype=np.float32)
    doc_length = np.empty(n, dtype=np.float32)
    doc_indptr = np.zeros(n + 1, dtype=np.int64)
    doc_terms = np.empty(total, dtype=np.int32)
    doc_tf = np.empty(total, dtype=np.uint8)
    blobs: list[npt.NDArray[np.uint8]] = []
    name_lengths: list[I64] = []
    word_ids = [
        np.array([terms.setdefault(t, len(terms)) for t in segment.terms], dtype=np.int32)
        for segment, _ in parts
    ]
    gram_codes = np.unique(np.concatenate([NO_GRAMS] + [s.gram_codes for s, _ in parts]))
    row, entry = 0, 0
    for (segment, _), taken, counts, words in zip(parts, rows, entries, word_ids, strict=True):
        end, entry_end = row + int(taken.size), entry + int(counts.sum())
        grams = len(terms) + np.searchsorted(gram_codes, segment.gram_codes).astype(np.int32)
        remap = np.concatenate([words, grams])
        take = _ranges(segment.doc_indptr[taken], counts)
        np.take(remap, segment.doc_terms[take], out=doc_terms[entry:entry_end])
        np.take(segment.doc_tf, take, out=doc_tf[entry:entry_end])
        doc_indptr[row + 1 : end + 1] = entry + np.cumsum(counts)
        np.take(segment.ids, taken, out=ids[row:end])
        np.take(segment.vectors, taken, axis=0, out=vectors[row:end])
        np.take(segment.scales, taken, out=scales[row:end])
        np.take(segment.density, taken, out=density[row:end])
        np.take(segment.doc_length, taken, out=doc_length[row:end])
        blob, offsets = _take_blob(segment.external_blob, segment.external_offsets, taken)
        blobs.append(blob)
        name_lengths.append(np.diff(offsets))
        row, entry = end, entry_end
    external_offsets = np.zeros(n + 1, dtype=np.int64)
    if n:
        np.cumsum(np.concatenate(name_lengths), out=external_offsets[1:])
    return _assemble(
        ids=ids,
        external_blob=np.concatenate(blobs) if blobs else np.zeros(0, np.uint8),
        external_offsets=external_offsets,
        vectors=vectors,
        scales=scales,
        density=density,
        terms=list(terms),
        gram_codes=gram_codes.astype(np.uint32, copy=False),
        doc_indptr=doc_indptr,
        doc_terms=doc_terms,
        doc_tf=doc_tf,
        doc_length=doc_length,
        columns=concat_columns(
            [segment.columns.take(r) for (segment, _), r in zip(parts, rows, strict=True)]
        ),
        ivf_min_rows=ivf_min_rows,
    )


def _assemble(
    *,
    ids: I64,
    external_blob: npt.NDArray[np.uint8],
    external_offsets: I64,
    vectors: I8,
    scales: F32,
    density: F32,
    terms: list[str],
    gram_codes: U32,
    doc_indptr: I64,
    doc_terms: npt.NDArray[np.int32],
    doc_tf: npt.NDArray[np.uint8],
    doc_length: npt.NDArray[np.float32],
    columns: Columns,
    ivf_min_rows: int,
) -> Segment:
    n = int(ids.shape[0])
    centroids: F32 | None = None
    list_offsets: I64 | None = None
    if n >= ivf_min_rows:
        centroids, assignment = spherical_kmeans(vectors, scales, max(16, int(2 * math.sqrt(n))))
        order = np.argsort(assignment, kind="stable").astype(np.int64)
        list_offsets = np.searchsorted(assignment[order], np.arange(centroids.shape[0] + 1)).astype(
            np.int64
        )
        del assignment
        # reorder every row-aligned array by list (each copy replaces its source at once)
        counts = (doc_indptr[1:] - doc_indptr[:-1])[order]
        take = _ranges(doc_indptr[:-1][order], counts)
        doc_terms, doc_tf = doc_terms[take], doc_tf[take]
        del take
        doc_indptr = np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)])
        external_blob, external_offsets = _take_blob(external_blob, external_offsets, order)
        ids, doc_length = ids[order], doc_length[order]
        vectors, scales, density = vectors[order], scales[order], density[order]
        columns = columns.take(order)
    # postings: rows of each term, grouped by term (stable, so rows ascend within a term)
    by_term = np.argsort(doc_terms, kind="stable")
    post_rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(doc_indptr))[by_term]
    vocabulary = len(terms) + int(gram_codes.shape[0])
    post_indptr = np.concatenate(
        [np.zeros(1, np.int64), np.cumsum(np.bincount(doc_terms, minlength=vocabulary))]
    ).astype(np.int64)
    return Segment(
        ids=ids.astype(np.int64, copy=False),
        external_blob=external_blob,
        external_offsets=external_offsets,
        vectors=vectors,
        scales=scales.astype(np.float32, copy=False),
        density=density.astype(np.float32, copy=False),
        centroids=centroids,
        list_offsets=list_offsets,
        terms=terms,
        gram_codes=gram_codes,
        post_indptr=post_indptr,
        post_rows=post_rows,
        post_tf=doc_tf[by_term],
        doc_indptr=doc_indptr.astype(np.int64, copy=False),
        doc_terms=doc_terms.astype(np.int32, copy=False),
        doc_tf=doc_tf.astype(np.uint8, copy=False),
        doc_length=doc_length.astype(np.float32, copy=False),
        columns=columns,
    )


def spherical_kmeans(
    vectors: I8, scales: F32, lists: int, *, seed: int = 0, iterations: int = KMEANS_ITERATIONS
) -> tuple[F32, I64]:
    """Centroids (unit length) learned on a sample, and every row's nearest centroid.

    Rows are ``scales[i] × vectors[i]``: only the sample and one block at a time are
    converted to ``float32``, never the whole matrix."""
    rng = np.random.default_rng(seed)
    n = vectors.shape[0]
    lists = min(lists, n)
    picked = rng.choice(n, size=min(n, max(KMEANS_SAMPLE, 8 * lists)), replace=False)
    sample = dequantise(vectors[picked], scales[picked])
    centroids = sample[rng.choice(sample.shape[0], size=lists, replace=False)].copy()
    for _ in range(iterations):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, sample)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = sample[rng.choice(sample.shape[0], size=int(empty.sum()))]
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    assignment = np.empty(n, dtype=np.int64)
    for start in range(0, n, KMEANS_BLOCK):
        # a row's nearest centroid does not depend on its (positive) scale
        block = np.asarray(vectors[start : start + KMEANS_BLOCK], dtype=np.float32)
        assignment[start : start + KMEANS_BLOCK] = np.argmax(block @ centroids.T, axis=1)
    return centroids.astype(np.float32), assignment


def gram_code(term: str) -> int | None:
    """A gram's two code points in one number (``None`` for a word). Grams are characters of
    the Basic Multilingual Plane, so each fits 16 bits."""
    if len(term) != 3 or term[0] != GRAM_MARK:
        return None
    first, second = ord(term[1]), ord(term[2])
    if first > 0xFFFF or second > 0xFFFF:
        return None
    return (first << 16) | second


def gram_term(code: int) -> str:
    return GRAM_MARK + chr(code >> 16) + chr(code & 0xFFFF)


def quantise(vectors: npt.ArrayLike) -> tuple[I8, F32]:
    """Rows as ``int8`` and one scale each (symmetric: a row's largest magnitude becomes 127).

    The rows are unit vectors of a few hundred dimensions: an inner product moves by about
    3e-4 (at most about 1.5e-3), and the benchmark's rankings measured the same as with
    ``float16`` rows."""
    wide = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(wide).max(axis=1, initial=0.0)
    scales = (peak / 127.0).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)
    quantised = np.rint(wide / safe[:, None]).clip(-127, 127).astype(np.int8)
    return quantised, scales


def dequantise(vectors: npt.ArrayLike, scales: npt.ArrayLike) -> F32:
    out = np.array(vectors, dtype=np.float32)  # a copy: scaled in place below
    out *= np.asarray(scales, dtype=np.float32)[:, None]
    return out


def _take_blob(
    blob: npt.NDArray[np.uint8], offsets: I64, rows: I64
) -> tuple[npt.NDArray[np.uint8], I64]:
    """The byte strings of ``rows`` (in that order) as a new blob and its offsets."""
    starts = np.asarray(offsets[rows], dtype=np.int64)
    lengths = np.asarray(offsets[rows + 1], dtype=np.int64) - starts
    out = np.zeros(int(rows.shape[0]) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return np.asarray(blob)[_ranges(starts, lengths)], out


def _blob(values: Sequence[str]) -> tuple[npt.NDArray[np.uint8], I64]:
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    if encoded:
        offsets[1:] = np.cumsum([len(e) for e in encoded])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _ranges(starts: I64, counts: I64) -> I64:
    """Concatenated ``arange(start, start + count)`` for each pair."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return (np.arange(total, dtype=np.int64) + shift).astype(np.int64)


def _top(rows: I64, scores: F32, limit: int) -> tuple[I64, F32]:
    if limit <= 0 or rows.size == 0:
        return _empty()
    if rows.size > limit:
        part = np.argpartition(-scores, limit - 1)[:limit]
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]


def _empty() -> tuple[I64, F32]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)

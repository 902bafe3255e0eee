"""The embedded index backend (the default): files under ``<data_dir>/index/<target>/``.

Layout of one target's directory::

    manifest.json          which files make up the index now (replaced atomically)
    seg-000007/            immutable segments (:mod:`.segment`), memory-mapped by readers
    seg-000007.del-12.npy  record ids deleted from (or replaced in) that segment
    log-000011.jsonl       write-ahead log: upserts and deletes since the last compaction
    writer.lock            taken (``flock``) by whoever writes

**Writes** (any process; they queue on the lock) append one line per record to the log and then
replace the manifest with one that names the new committed log length; bytes beyond it (a
crashed writer's) are cut off by the next writer. When the log holds ``log_limit`` records, or
when one call brings at least ``bulk_rows`` records, the log's live records become a new segment
and the ids they replace are added to the older segments' deletion files; segments of about the
same size are merged (``merge_factor`` at a time, never beyond ``max_segment_rows``), and a
segment that has lost a third of its rows is rewritten. Files that no manifest names any more
are removed after the switch: a reader that has them mapped keeps reading them (POSIX), a
reader that had not opened them yet retries with the new manifest.

**Reads** check the manifest's identity (inode, size, mtime) before each query and reload only
what changed: new segments are mapped, the log is read on from where the reader stopped.
Records in the log shadow their older versions in segments.

Filters and the visibility scope are boolean masks over the attribute columns (:mod:`.columns`),
combined with the live-row mask of each segment. BM25 uses collection statistics summed over
segments and log; rows deleted but not yet merged away still count in document frequencies (as
in Lucene), which shifts IDF only slightly.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfbridge.matching.index.base import IndexedRecord, TermStatistics, register_backend
from shelfbridge.matching.index.columns import BoolArray
from shelfbridge.matching.index.segment import (
    IVF_MIN_ROWS,
    Segment,
    build_segment,
    merge_segments,
)
from shelfbridge.matching.lexical import DEFAULT_BM25, BM25Parameters, idf
from shelfbridge.matching.types import Candidate, MatchAttributes, MatchFilters, Scope, Target

FORMAT = 1
MANIFEST = "manifest.json"


@dataclass
class _Manifest:
    generation: int = 0
    dim: int | None = None
    counter: int = 0  # names of new files
    segments: list[dict[str, Any]] = field(default_factory=list)  # {"name", "deleted"}
    log: str | None = None
    log_length: int = 0
    log_records: int = 0

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, ensure_ascii=False, indent=1)

    @classmethod
    def read(cls, path: Path) -> _Manifest:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("format", None) != FORMAT:
            raise ValueError(f"{path}: unknown index format")
        return cls(**data)


@dataclass
class _LoadedSegment:
    segment: Segment
    deleted_file: str | None
    deleted: npt.NDArray[np.int64]
    alive: BoolArray | None = None  # None: every row alive
    alive_rows: int = 0
    alive_length: float = 0.0


@dataclass(frozen=True)
class _View:
    """An immutable snapshot that queries read without holding the lock."""

    segments: tuple[_LoadedSegment, ...] = ()
    delta: Segment | None = None
    documents: int = 0
    total_length: float = 0.0
    dim: int | None = None
    masks: dict[tuple[str, MatchFilters, Scope], BoolArray | None] = field(default_factory=dict)

    def parts(self) -> Iterator[tuple[str, Segment, BoolArray | None]]:
        for loaded in self.segments:
            yield loaded.segment.name, loaded.segment, loaded.alive
        if self.delta is not None:
            yield "", self.delta, None

    def mask(
        self,
        key: str,
        segment: Segment,
        alive: BoolArray | None,
        filters: MatchFilters,
        scope: Scope,
    ) -> BoolArray | None:
        cache_key = (key, filters, scope)
        if key and cache_key in self.masks:
            return self.masks[cache_key]
        mask = segment.columns.mask(filters, scope, segment.ids)
        if alive is not None:
            mask = alive if mask is None else mask & alive
        if key:
            if len(self.masks) > 64:
                self.masks.clear()
            self.masks[cache_key] = mask
        return mask

    def statistics(self, terms: Sequence[str]) -> TermStatistics:
        unique = list(dict.fromkeys(terms))
        total = np.zeros(len(unique), dtype=np.int64)
        for _, segment, _ in self.parts():
            total += segment.document_frequencies(unique)
        frequency = dict(zip(unique, total.tolist(), strict=True))
        average = self.total_length / self.documents if self.documents else 0.0
        return TermStatistics(self.documents, average, frequency)

    def locate(self, record_ids: Sequence[int]) -> list[tuple[Segment, int] | None]:
        """Where the live version of each record is."""
        parts, where, rows = self.places(record_ids)
        return [
            None if part < 0 else (parts[part], int(row))
            for part, row in zip(where.tolist(), rows.tolist(), strict=True)
        ]

    def places(
        self, record_ids: Sequence[int]
    ) -> tuple[list[Segment], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``locate`` as arrays: the parts, and each record's part index and row (-1: none).

        Smoothing and feedback read the vectors of a few hundred candidates per query; a
        Python loop over ids × segments cost milliseconds of it.
        """
        wanted = np.asarray(record_ids, dtype=np.int64).reshape(-1)
        parts: list[Segment] = []
        where = np.full(wanted.shape, -1, dtype=np.int64)
        rows = np.full(wanted.shape, -1, dtype=np.int64)
        for _, segment, alive in self.parts():
            found = segment.rows_of(wanted)
            live = found >= 0
            if alive is not None and live.any():
                live &= alive[np.maximum(found, 0)]
            if live.any():
                where[live] = len(parts)  # a later part (the log) shadows an earlier one
                rows[live] = found[live]
            parts.append(segment)
        return parts, where, rows


class _TargetState:
    """What one process has loaded of one target's directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.identity: tuple[int, int, int] | None = None
        self.manifest = _Manifest()
        self.segments: list[_LoadedSegment] = []
        self.log_name: str | None = None
        self.log_read = 0
        self.log_entries: dict[int, IndexedRecord | None] = {}  # id → latest record, None = deleted
        self.view = _View()


class EmbeddedIndex:
    """The default :class:`~.base.IndexBackend`: numpy segments + log in a directory."""

    # reads work on immutable snapshots: the matcher may run a search's lexical and dense
    # stages on two threads at once
    concurrent_reads = True

    def __init__(
        self,
        path: Path | str,
        *,
        log_limit: int = 4096,
        bulk_rows: int = 2048,
        merge_factor: int = 4,
        max_segment_rows: int = 262_144,
        ivf_min_rows: int = IVF_MIN_ROWS,
        bm25: BM25Parameters = DEFAULT_BM25,
        parallel_scan: bool = True,
    ) -> None:
        self.root = Path(path)
        self.parallel_scan = parallel_scan  # dense scans of large indexes on two threads
        self.log_limit = log_limit
        self.bulk_rows = bulk_rows
        self.merge_factor = merge_factor
        self.max_segment_rows = max_segment_rows
        self.ivf_min_rows = ivf_min_rows
        self.bm25 = bm25
        self._states: dict[str, _TargetState] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ reading
    def _state(self, target: Target) -> _TargetState:
        key = Target(target).value
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _TargetState(self.root / key)
            for attempt in range(5):
                try:
                    self._refresh(state)
                    break
                except FileNotFoundError:
                    if attempt == 4:
                        raise
                    state.identity = None  # a writer switched files under us: read again
            return state

    def _refresh(self, state: _TargetState) -> None:
        path = state.directory / MANIFEST
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if state.identity is not None or state.segments or state.log_entries:
                self._reset(state, _Manifest())
            state.identity = None
            return
        identity = (st.st_ino, st.st_size, st.st_mtime_ns)
        if identity == state.identity:
            return
        manifest = _Manifest.read(path)
        self._reset(state, manifest)
        state.identity = identity

    def _reset(self, state: _TargetState, manifest: _Manifest) -> None:
        loaded = {s.segment.name: s for s in state.segments}
        segments: list[_LoadedSegment] = []
        for entry in manifest.segments:
            previous = loaded.get(entry["name"])
            segment = (
                previous.segment
                if previous is not None
                else Segment.load(state.directory / entry["name"])
            )
            deleted_file = entry.get("deleted")
            if previous is not None and previous.deleted_file == deleted_file:
                deleted = previous.deleted
            elif deleted_file:
                deleted = np.load(state.directory / deleted_file, allow_pickle=False)
            else:
                deleted = np.zeros(0, dtype=np.int64)
            segments.append(_LoadedSegment(segment, deleted_file, deleted.astype(np.int64)))
        if manifest.log != state.log_name or manifest.log_length < state.log_read:
            state.log_entries = {}
            state.log_read = 0
            state.log_name = manifest.log
        if manifest.log and manifest.log_length > state.log_read:
            with open(state.directory / manifest.log, "rb") as fh:
                fh.seek(state.log_read)
                data = fh.read(manifest.log_length - state.log_read)
            for line in data.splitlines():
                if line.strip():
                    record_id, record = _decode(line)
                    state.log_entries[record_id] = record
            state.log_read = manifest.log_length
        state.manifest = manifest
        state.segments = segments
        live = [r for r in state.log_entries.values() if r is not None]
        dim = manifest.dim or (int(live[0].vector.shape[0]) if live else 1)
        delta = build_segment(live, dim, ivf_min_rows=1 << 62) if live else None
        touched = np.fromiter(state.log_entries.keys(), dtype=np.int64)
        documents, total_length = 0, 0.0
        for loaded_segment in segments:
            hidden = np.concatenate([loaded_segment.deleted, touched])
            segment = loaded_segment.segment
            if hidden.size:
                alive = ~np.isin(segment.ids, hidden)
                loaded_segment.alive = None if bool(alive.all()) else alive
            else:
                loaded_segment.alive = None
            if loaded_segment.alive is None:
                loaded_segment.alive_rows = segment.rows
                loaded_segment.alive_length = segment.total_length
            else:
                loaded_segment.alive_rows = int(loaded_segment.alive.sum())
                loaded_segment.alive_length = float(
                    segment.doc_length[loaded_segment.alive].sum(dtype=np.float64)
                )
            documents += loaded_segment.alive_rows
            total_length += loaded_segment.alive_length
        if delta is not None:
            documents += delta.rows
            total_length += delta.total_length
        state.view = _View(
            segments=tuple(segments),
            delta=delta,
            documents=documents,
            total_length=total_length,
            dim=manifest.dim or (delta.dim if delta is not None else None),
        )

    def _view(self, target: Target) -> _View:
        with self._lock:
            return self._state(target).view

    def count(self, target: Target) -> int:
        return self._view(target).documents

    def statistics(self, target: Target, terms: Sequence[str]) -> TermStatistics:
        return self._view(target).statistics(terms)

    def lexical(
        self,
        target: Target,
        query_terms: Mapping[str, float],
        limit: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]:
        view = self._view(target)
        if not view.documents or not query_terms:
            return []
        terms = list(query_terms)
        stats = view.statistics(terms)
        idfs = idf(stats.documents, [stats.document_frequency[t] for t in terms])
        weights = {t: float(query_terms[t]) * float(w) for t, w in zip(terms, idfs, strict=True)}
        found: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = []
        for key, segment, alive in view.parts():
            mask = view.mask(key, segment, alive, filters, scope)
            rows, scores = segment.lexical(weights, stats.average_length, mask, limit, self.bm25)
            found.append((segment.ids[rows], scores))
        return _merge(found, limit)

    def dense(
        self,
        target: Target,
        vector: npt.NDArray[np.float32],
        limit: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]:
        view = self._view(target)
        if not view.documents:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        work: list[tuple[Segment, BoolArray | None]] = []
        for key, segment, alive in view.parts():
            if segment.dim != query.shape[0]:
                raise ValueError(
                    f"query vector has {query.shape[0]} dimensions, the index {segment.dim}"
                )
            work.append((segment, view.mask(key, segment, alive, filters, scope)))

        def scan(chosen: Sequence[tuple[Segment, BoolArray | None]]) -> list[_Found]:
            out = []
            for segment, mask in chosen:
                rows, scores = segment.dense(query, mask, limit)
                out.append((segment.ids[rows], scores))
            return out

        mine, theirs = _split(work) if self.parallel_scan else (work, [])
        if not theirs:
            return _merge(scan(mine), limit)
        # a dense scan is memory-bound BLAS that releases the GIL: a second core halves it
        pending = _scan_pool().submit(scan, theirs)
        found = scan(mine)
        return _merge(found + pending.result(), limit)

    def vectors(self, target: Target, record_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        view = self._view(target)
        out = np.zeros((len(record_ids), view.dim or 0), dtype=np.float32)
        parts, where, rows = view.places(record_ids)
        for part, segment in enumerate(parts):
            hit = np.flatnonzero(where == part)
            if hit.size:
                out[hit] = segment.vectors32(rows[hit])
        return out

    def term_counts(self, target: Target, record_ids: Sequence[int]) -> list[Mapping[str, int]]:
        view = self._view(target)
        return [
            {} if place is None else place[0].term_counts(place[1])
            for place in view.locate(record_ids)
        ]

    def holding(
        self, target: Target, record_ids: Sequence[int], terms: Sequence[str]
    ) -> list[bool]:
        view = self._view(target)
        parts, where, rows = view.places(record_ids)
        out = np.zeros(len(record_ids), dtype=np.bool_)
        for part, segment in enumerate(parts):
            hit = np.flatnonzero(where == part)
            if hit.size:
                out[hit] = segment.holding(rows[hit], terms)
        return [bool(x) for x in out]

    def external_ids(self, target: Target, record_ids: Sequence[int]) -> list[str | None]:
        """The external id stored with each record (``None`` when it is not indexed)."""
        view = self._view(target)
        return [
            None if place is None else place[0].external_id(place[1])
            for place in view.locate(record_ids)
        ]

    def attributes(self, target: Target, record_ids: Sequence[int]) -> list[MatchAttributes | None]:
        """The stored attributes of each record (``None`` when it is not indexed)."""
        view = self._view(target)
        return [
            None if place is None else place[0].columns.attributes(place[1])
            for place in view.locate(record_ids)
        ]

    def generation(self, target: Target) -> int:
        """Increases with every committed write of ``target``."""
        with self._lock:
            return self._state(target).manifest.generation

    def segment_sizes(self, target: Target) -> list[int]:
        """Rows per segment, then the log's live records (for tests and ``index info``)."""
        view = self._view(target)
        return [s.segment.rows for s in view.segments] + [
            view.delta.rows if view.delta is not None else 0
        ]

    def close(self) -> None:
        with self._lock:
            self._states.clear()

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _writing(self, target: Target) -> Iterator[_TargetState]:
        directory = self.root / Target(target).value
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock, open(directory / "writer.lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield self._state(target)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def upsert(self, target: Target, records: Sequence[IndexedRecord]) -> None:
        if not records:
            return
        with self._writing(target) as state:
            manifest = _copy(state.manifest)
            dims = {int(np.asarray(r.vector).shape[-1]) for r in records}
            if manifest.dim is None and len(dims) == 1:
                manifest.dim = dims.pop()
            if dims - {manifest.dim}:
                raise ValueError(
                    f"vectors of {sorted(dims)} dimensions; the index has {manifest.dim}"
                )
            if len(records) >= self.bulk_rows:
                self._compact(state, manifest, extra=list(records))
            else:
                self._append(state, manifest, [_encode(r.record_id, r) for r in records])

    def delete(self, target: Target, record_ids: Sequence[int]) -> None:
        if not record_ids:
            return
        with self._writing(target) as state:
            manifest = _copy(state.manifest)
            self._append(state, manifest, [_encode(int(i), None) for i in record_ids])

    def clear(self, target: Target) -> None:
        with self._writing(target) as state:
            manifest = _Manifest(
                generation=state.manifest.generation, counter=state.manifest.counter
            )
            self._commit(state, manifest)

    def compact(self, target: Target) -> None:
        """Turn the log into a segment now (a rebuild calls it at the end)."""
        with self._writing(target) as state:
            if state.log_entries:
                self._compact(state, _copy(state.manifest), extra=[])

    def _append(self, state: _TargetState, manifest: _Manifest, lines: list[bytes]) -> None:
        if manifest.log is None:
            manifest.counter += 1
            manifest.log = f"log-{manifest.counter:06d}.jsonl"
            manifest.log_length = 0
            manifest.log_records = 0
        path = state.directory / manifest.log
        with open(path, "ab") as fh:
            fh.truncate(manifest.log_length)  # drop what a crashed writer left uncommitted
            fh.seek(manifest.log_length)
            payload = b"".join(lines)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        manifest.log_length += len(payload)
        manifest.log_records += len(lines)
        if manifest.log_records >= self.log_limit:
            self._commit(state, manifest)  # readers see the records at once
            self._compact(state, _copy(state.manifest), extra=[])
        else:
            self._commit(state, manifest)

    def _compact(
        self, state: _TargetState, manifest: _Manifest, extra: list[IndexedRecord]
    ) -> None:
        """Log (and ``extra`` records, newer than the log) → a new segment; then merge."""
        entries: dict[int, IndexedRecord | None] = dict(state.log_entries)
        for record in extra:
            entries[record.record_id] = record
        touched = np.fromiter(entries.keys(), dtype=np.int64)
        live = [r for r in entries.values() if r is not None]
        segments: list[dict[str, Any]] = []
        for loaded in state.segments:
            entry = {"name": loaded.segment.name, "deleted": loaded.deleted_file}
            rows = loaded.segment.rows_of(touched)
            newly = touched[rows >= 0]
            if newly.size:
                deleted = np.union1d(loaded.deleted, newly)
                manifest.counter += 1
                name = f"{loaded.segment.name}.del-{manifest.counter:06d}.npy"
                _save_array(state.directory / name, deleted)
                entry["deleted"] = name
            segments.append(entry)
        if live and manifest.dim is not None:
            manifest.counter += 1
            name = f"seg-{manifest.counter:06d}"
            build_segment(live, manifest.dim, ivf_min_rows=self.ivf_min_rows).save(
                state.directory / name
            )
            segments.append({"name": name, "deleted": None})
        manifest.segments = segments
        manifest.log, manifest.log_length, manifest.log_records = None, 0, 0
        self._commit(state, manifest)
        self._merge(state)

    def _merge(self, state: _TargetState) -> None:
        """Merge segments of about the same size; rewrite those that lost a third of rows."""
        while (chosen := self._merge_choice(state.segments)) is not None:
            manifest = _copy(state.manifest)
            name = self._write_merged(state, manifest, chosen)
            remaining = [e for i, e in enumerate(manifest.segments) if i not in set(chosen)]
            if name is not None:
                remaining.insert(min(chosen), {"name": name, "deleted": None})
            manifest.segments = remaining
            self._commit(state, manifest)

    def _merge_choice(self, loaded: Sequence[_LoadedSegment]) -> list[int] | None:
        """The segments to merge next: a full size tier, else one that lost a third of rows."""
        sizes = [s.alive_rows for s in loaded]
        chosen = _pick_merge(sizes, self.bulk_rows, self.merge_factor, self.max_segment_rows)
        if chosen is not None:
            return chosen
        return next(
            (
                [i]
                for i, s in enumerate(loaded)
                if s.segment.rows and s.alive_rows < s.segment.rows * 2 // 3
            ),
            None,
        )

    def _write_merged(
        self, state: _TargetState, manifest: _Manifest, chosen: Sequence[int]
    ) -> str | None:
        """Merge the live rows of the ``chosen`` segments into a new segment directory; its
        name (``None`` when no row is left). The merged arrays are dropped on return, before
        the commit maps the new files, so a build holds one merge's arrays at a time."""
        assert manifest.dim is not None
        parts = []
        for i in chosen:
            segment, alive = state.segments[i].segment, state.segments[i].alive
            parts.append((segment, np.ones(segment.rows, np.bool_) if alive is None else alive))
        # the log is empty here (merges follow a compaction), so alive = not deleted
        merged = merge_segments(parts, manifest.dim, ivf_min_rows=self.ivf_min_rows)
        if not merged.rows:
            return None
        manifest.counter += 1
        name = f"seg-{manifest.counter:06d}"
        merged.save(state.directory / name)
        return name

    def _commit(self, state: _TargetState, manifest: _Manifest) -> None:
        manifest.generation += 1
        path = state.directory / MANIFEST
        temporary = state.directory / f"{MANIFEST}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as fh:
            fh.write(manifest.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
        _fsync_directory(state.directory)
        state.identity = None
        self._refresh(state)
        self._collect(state)

    def _collect(self, state: _TargetState) -> None:
        """Remove files that the current manifest does not name."""
        manifest = state.manifest
        keep = {MANIFEST, "writer.lock"}
        keep.update(s["name"] for s in manifest.segments)
        keep.update(s["deleted"] for s in manifest.segments if s.get("deleted"))
        if manifest.log:
            keep.add(manifest.log)
        for entry in state.directory.iterdir():
            if entry.name in keep or entry.name.endswith(".tmp"):
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()


def _pick_merge(sizes: Sequence[int], base: int, factor: int, cap: int) -> list[int] | None:
    """Indexes of ``factor`` segments in the same size tier whose merge stays under ``cap``."""
    tiers: dict[int, list[int]] = {}
    for i, size in enumerate(sizes):
        if size >= cap // factor:
            continue
        tier = 0
        bound = base
        while size > bound:
            bound *= factor
            tier += 1
        tiers.setdefault(tier, []).append(i)
    for tier in sorted(tiers):
        members = tiers[tier]
        if len(members) >= factor:
            chosen = sorted(members, key=lambda i: sizes[i])[:factor]
            if sum(sizes[i] for i in chosen) <= cap:
                return sorted(chosen)
    return None


_Found = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
PARALLEL_SCAN_ROWS = 32_768  # below this many rows a second thread costs more than it saves
_SCAN_POOL: ThreadPoolExecutor | None = None
_SCAN_LOCK = threading.Lock()


def _scan_pool() -> ThreadPoolExecutor:
    """Threads for the second half of dense scans (their tasks never wait on other tasks)."""
    global _SCAN_POOL
    if _SCAN_POOL is None:
        with _SCAN_LOCK:
            if _SCAN_POOL is None:
                _SCAN_POOL = ThreadPoolExecutor(
                    max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sb-scan"
                )
    return _SCAN_POOL


def _split(
    work: Sequence[tuple[Segment, BoolArray | None]],
) -> tuple[list[tuple[Segment, BoolArray | None]], list[tuple[Segment, BoolArray | None]]]:
    """Two groups of segments with about the same number of rows to score (a probed IVF
    segment scores about a quarter of its rows); all in the first when there is little work."""

    def rows(segment: Segment) -> int:
        return segment.rows // 4 if segment.centroids is not None else segment.rows

    if len(work) < 2 or sum(rows(s) for s, _ in work) < PARALLEL_SCAN_ROWS:
        return list(work), []
    groups: tuple[list[tuple[Segment, BoolArray | None]], ...] = ([], [])
    loads = [0, 0]
    for item in sorted(work, key=lambda item: -rows(item[0])):
        lighter = 0 if loads[0] <= loads[1] else 1
        groups[lighter].append(item)
        loads[lighter] += rows(item[0])
    return groups[0], groups[1]


def _merge(found: Sequence[_Found], limit: int) -> list[Candidate]:
    if not found:
        return []
    ids = np.concatenate([f[0] for f in found])
    scores = np.concatenate([f[1] for f in found])
    order = np.lexsort((ids, -scores))[:limit]
    return [
        Candidate(i, score)
        for i, score in zip(ids[order].tolist(), scores[order].tolist(), strict=True)
    ]


def _encode(record_id: int, record: IndexedRecord | None) -> bytes:
    if record is None:
        data: dict[str, Any] = {"op": "del", "id": record_id}
    else:
        vector = np.asarray(record.vector, dtype=np.float32).reshape(-1)
        data = {
            "op": "put",
            "id": record.record_id,
            "ext": record.external_id,
            "v": base64.b64encode(vector.tobytes()).decode("ascii"),
            "t": dict(record.term_counts),
            "a": asdict(record.attributes),
            "d": float(record.density),
        }
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _decode(line: bytes) -> tuple[int, IndexedRecord | None]:
    data = json.loads(line)
    record_id = int(data["id"])
    if data["op"] == "del":
        return record_id, None
    vector = np.frombuffer(base64.b64decode(data["v"]), dtype=np.float32).copy()
    return record_id, IndexedRecord(
        record_id=record_id,
        external_id=str(data["ext"]),
        vector=vector,
        term_counts={str(k): int(v) for k, v in data["t"].items()},
        attributes=MatchAttributes(**data["a"]),
        density=float(data.get("d", 0.0)),
    )


def _copy(manifest: _Manifest) -> _Manifest:
    return _Manifest(
        generation=manifest.generation,
        dim=manifest.dim,
        counter=manifest.counter,
        segments=[dict(s) for s in manifest.segments],
        log=manifest.log,
        log_length=manifest.log_length,
        log_records=manifest.log_records,
    )


def _save_array(path: Path, array: npt.NDArray[Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_embedded_index(
    *, path: Path | str | None = None, settings: Any = None, **options: Any
) -> EmbeddedIndex:
    """Factory registered as ``embedded``: ``path``, or ``<settings.data_dir>/index``."""
    if path is None:
        if settings is None:
            raise ValueError("the embedded index needs a path or settings with a data_dir")
        path = Path(settings.data_dir) / "index"
    return EmbeddedIndex(path, **options)


register_backend("embedded", create_embedded_index)

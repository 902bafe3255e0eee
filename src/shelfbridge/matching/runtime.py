"""The match runtime of one database: its index backend, embedder and matcher (each loaded on
first use), the manifest that says what the index was built for, ``index rebuild``, and the
updates :mod:`.sync` asks for after each commit. :mod:`.service` answers the callers with it
and re-exports its public names. Who builds when (one build across processes, the first build
of a web process in the background) is :mod:`.building`.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shelfbridge.accounts.actor import SYSTEM, current_actor
from shelfbridge.core.database import Database
from shelfbridge.core.errors import (
    ShelfbridgeError,
)
from shelfbridge.core.i18n import N_
from shelfbridge.core.settings import Settings
from shelfbridge.matching import building, sync
from shelfbridge.matching import documents as docs
from shelfbridge.matching.build_files import Progress, no_progress, read_json, write_json
from shelfbridge.matching.building import FIT_PHASE as FIT_PHASE
from shelfbridge.matching.building import BuildState
from shelfbridge.matching.embedders.base import densities_of
from shelfbridge.matching.types import (
    Explanation,
    MatchDocument,
    MatchFilters,
    Scope,
    Target,
)

logger = logging.getLogger(__name__)

MANIFEST_NAME = "match-manifest.json"
MANIFEST_VERSION = 1
# What a rebuild by this version writes: 2 = int8 vectors and neighbourhood densities; 3 = the
# records' character bigrams beside their words (an index without them ranks by words). An index
# of an earlier format keeps serving; `index info` recommends a rebuild and `demo load` runs one.
INDEX_FORMAT = 3


def outdated(manifest: Mapping[str, Any]) -> bool:
    """Whether a built index (its match manifest) was written in an earlier format."""
    return bool(manifest) and int(manifest.get("format", 1)) < INDEX_FORMAT


INDEX_FOLDER = "index"  # the embedded backend's folder under the data directory
EMBED_BATCH = 256


class IndexNotReady(ShelfbridgeError):
    """The index was built for another embedder (or cannot be read): it must be rebuilt."""

    status = 503
    type_slug = "index-not-ready"
    title = N_("Match index not ready")


TextLoader = Callable[[Sequence[int]], Mapping[int, str]]
Ranked = list[tuple[int, float, Explanation]]


class Matcher(Protocol):
    """What ranks candidates (:class:`shelfbridge.matching.ranking.Matcher`)."""

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
    ) -> Ranked: ...

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
    ) -> Ranked: ...

    def bridge_pairs(self, text: str) -> list[tuple[str, str]]: ...


# ---------------------------------------------------------------- the runtime
def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class RebuildReport:
    """What ``index rebuild`` did, per target."""

    records: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.records.values())

    @property
    def rate(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0


class MatchRuntime:
    """The index backend, the embedder and the matcher of one database, loaded on first use,
    and the maintainer that keeps the index up to date (:mod:`.sync`)."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        backend: Any = None,
        embedder: Any = None,
        matcher_factory: Callable[[MatchRuntime], Matcher] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self._backend = backend
        self._embedder = embedder
        self._matcher: Matcher | None = None
        self._matcher_factory = matcher_factory
        self._lock = threading.RLock()
        self.building = building.BuildCoordinator(self)

    # ------------------------------------------------------------------ configuration
    @property
    def backend_name(self) -> str:
        if self.settings.milvus_uri:
            return "milvus"
        return self.settings.match_index

    @property
    def embedder_name(self) -> str:
        name = getattr(self._embedder, "name", None)
        return str(name) if name else self.settings.match_embedder

    @property
    def location(self) -> str:
        """Where the index lives: the Milvus URI, or the embedded index's folder."""
        return self.settings.milvus_uri or str(self.settings.data_dir / INDEX_FOLDER)

    @property
    def manifest_path(self) -> Path:
        return self.settings.data_dir / MANIFEST_NAME

    def database_identity(self) -> str:
        """The database this index belongs to (its URL without password)."""
        return make_url(self.database.url).render_as_string(hide_password=True)

    # ------------------------------------------------------------------ lazy parts
    @property
    def backend(self) -> Any:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = _create_backend(self)
        return self._backend

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = _create_embedder(self)
        return self._embedder

    @property
    def analyzer(self) -> Any:
        from shelfbridge.matching.analysis import default_analyzer

        return default_analyzer()

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            with self._lock:
                if self._matcher is None:
                    factory = self._matcher_factory or _create_matcher
                    self._matcher = factory(self)
        return self._matcher

    def close(self) -> None:
        self.building.stop()
        sync.detach(self.database, self)
        self._matcher = None
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> dict[str, Any]:
        data = read_json(self.manifest_path)
        if data.get("version") != MANIFEST_VERSION:
            return {}
        if data.get("database") != self.database_identity():
            return {}  # an index of another database: as if none were built
        if data.get("backend") != self.backend_name:
            return {}
        return data

    def _write_manifest(self, data: dict[str, Any]) -> None:
        write_json(self.manifest_path, data, indent=2)

    def built_targets(self) -> set[Target]:
        return {Target(t) for t in self.read_manifest().get("targets", {})}

    def is_built(self) -> bool:
        return bool(self.built_targets())

    def mark_stale(self) -> None:
        manifest = self.read_manifest()
        if manifest:
            manifest["stale"] = True
            self._write_manifest(manifest)

    def ensure_ready(self, target: Target, *, wait: float | None = None) -> None:
        """Refuse an index built for another embedder; on first use, build the index in the
        background and wait for it up to ``wait`` seconds (``match_first_build_wait``) from
        the build's start (:meth:`.building.BuildCoordinator.ensure`: raises
        :class:`~.building.IndexBuilding` while it runs, :class:`~.building.IndexBuildFailed`
        after it failed)."""
        manifest = self.read_manifest()
        built = manifest.get("embedder")
        if built and built != self.embedder_name:
            raise IndexNotReady(
                N_(
                    "The match index was built with the embedder {built}, not {wanted}: "
                    "run shelfbridge index rebuild."
                ),
                built=built,
                wanted=self.embedder_name,
            )
        if Target(target).value in manifest.get("targets", {}):
            return
        # A first build covers every target (a corpus-fitted embedder learns from all).
        seconds = self.settings.match_first_build_wait if wait is None else wait
        self.building.ensure(Target(target), seconds)

    # ------------------------------------------------------------------ building
    def records_for(self, target: Target, documents: Sequence[MatchDocument]) -> list[Any]:
        """Analysed and embedded records, ready for the backend."""
        from shelfbridge.matching.index.base import IndexedRecord

        analyzer = self.analyzer
        texts = [d.text for d in documents]
        counts = [analyzer.indexed_counts(text) for text in texts]  # words and grams
        embedder = self.embedder
        from_counts = getattr(embedder, "embed_term_counts", None)
        if not texts:
            vectors: Any = []
        elif callable(from_counts):  # a static embedder: no second analysis of the texts
            vectors = from_counts(counts)
        else:
            vectors = embedder.embed_documents(texts)
        density = densities_of(embedder, vectors)
        return [
            IndexedRecord(
                record_id=d.record_id,
                external_id=d.external_id,
                vector=vectors[i],
                term_counts=counts[i],
                attributes=d.attributes,
                density=float(density[i]),
            )
            for i, d in enumerate(documents)
        ]

    def rebuild(
        self,
        targets: Iterable[Target] | None = None,
        *,
        progress: Progress = no_progress,
        fit: bool | None = None,
        on_wait: Callable[[BuildState], None] | None = None,
    ) -> RebuildReport:
        """Build the index of these targets (all by default) from the database, as the
        system. A corpus-fitted embedder is fitted first when every target is rebuilt.

        Holds the build lock (:mod:`.building`) throughout: a build of another process is
        waited for (``on_wait`` hears of it first). The progress goes to ``progress`` and to
        the progress file; what was written meanwhile is reloaded at the end."""
        chosen = list(dict.fromkeys(Target(t) for t in (targets or list(Target))))
        fit = len(chosen) == len(Target) if fit is None else fit
        started = time.perf_counter()
        report = RebuildReport()
        token = current_actor.set(SYSTEM)
        try:
            with (
                self.building.hold(on_wait),
                self._lock,
                building.recording(self.building.progress_path) as record,
            ):
                since = sync.audit_head(self.database)
                totals = self._count(chosen)
                plan = [(FIT_PHASE, sum(totals.values()))] if fit else []
                record.set_plan(plan + [(t.value, totals[t]) for t in chosen])
                progress = record.tee(progress)
                if fit:
                    self._fit(chosen, sum(totals.values()), progress)
                for target in chosen:
                    report.records[target.value] = self._rebuild_target(
                        target, totals[target], progress
                    )
                report.seconds = time.perf_counter() - started
                manifest = self.read_manifest() or {
                    "version": MANIFEST_VERSION,
                    "database": self.database_identity(),
                    "backend": self.backend_name,
                    "targets": {},
                }
                manifest["embedder"] = self.embedder_name
                manifest["format"] = INDEX_FORMAT
                manifest["dim"] = int(getattr(self.embedder, "dim", 0) or 0)
                manifest["stale"] = False
                for target in chosen:
                    manifest["targets"][target.value] = {
                        "records": report.records[target.value],
                        "built_at": _now(),
                    }
                manifest["seconds"] = round(report.seconds, 3)
                self._write_manifest(manifest)
                self._catch_up(since)
        finally:
            current_actor.reset(token)
        return report

    def _catch_up(self, since: int) -> None:
        """Reload the records written while the index was being built (by any process: their
        audit events name them), which the sync skipped while a target was not built yet."""
        try:
            changes = sync.audited_changes(self.database, since)
        except Exception:  # pragma: no cover - the index stands; a later write or rebuild fixes it
            logger.exception("The writes made during the match index build could not be read.")
            return
        if changes:
            sync.apply_safely(self, changes)

    def _count(self, targets: Sequence[Target]) -> dict[Target, int]:
        with self.database.unit_of_work(write=False) as session:
            return {t: docs.count_records(session, t) for t in targets}

    def _fit(self, targets: Sequence[Target], total: int, progress: Progress) -> None:
        """Let a corpus-fitted embedder learn from every text (progress phase ``vocabulary``:
        the texts read; the embedder then embeds the new vocabulary)."""
        fit = getattr(self.embedder, "fit", None)
        if not callable(fit):
            return

        def corpus() -> Iterable[str]:
            # The texts themselves: the embedder analyses them and its teacher reads a sample.
            done = 0
            progress(FIT_PHASE, 0, total)
            for target in targets:
                with self.database.unit_of_work(write=False) as session:
                    for batch in docs.iter_documents(session, target):
                        for document in batch:
                            yield document.text
                        done += len(batch)
                        progress(FIT_PHASE, done, max(total, done))

        fit(corpus())

    def _rebuild_target(self, target: Target, total: int, progress: Progress) -> int:
        backend = self.backend
        backend.clear(target)
        done = 0
        progress(target.value, 0, total)
        indexed = 0
        with self.database.unit_of_work(write=False) as session:
            for batch in docs.iter_documents(session, target, batch=EMBED_BATCH):
                kept = [d for d in batch if _matchable(d)]
                if kept:
                    backend.upsert(target, self.records_for(target, kept))
                indexed += len(kept)
                done += len(batch)
                progress(target.value, done, max(total, done))
        return indexed

    # ------------------------------------------------------------------ sync
    def apply_changes(self, changes: sync.Changes) -> None:
        """Reload what a committed transaction changed (see :mod:`.sync`)."""
        built = self.built_targets()
        if not built:
            return  # never built: the first build will read everything
        token = current_actor.set(SYSTEM)
        try:
            with self._lock, self.database.unit_of_work(write=False) as session:
                for target, ids in sync.expand(session, changes).items():
                    if target not in built or not ids:
                        continue
                    self.refresh(session, target, sorted(ids))
        finally:
            current_actor.reset(token)

    def refresh(self, session: Session, target: Target, ids: Sequence[int]) -> None:
        """Upsert the records that exist (and have text), delete the others from the index."""
        for start in range(0, len(ids), EMBED_BATCH):
            chunk = ids[start : start + EMBED_BATCH]
            found = [d for d in docs.load_documents(session, target, chunk) if _matchable(d)]
            if found:
                self.backend.upsert(target, self.records_for(target, found))
            gone = sorted(set(chunk) - {d.record_id for d in found})
            if gone:
                self.backend.delete(target, gone)

    # ------------------------------------------------------------------ info
    def info(self) -> dict[str, Any]:
        manifest = self.read_manifest()
        counts: dict[str, int | None] = {}
        for target in Target:
            try:
                counts[target.value] = int(self.backend.count(target)) if manifest else 0
            except Exception:  # pragma: no cover - an unreachable Milvus
                counts[target.value] = None
        return {
            "backend": self.backend_name,
            "location": self.location,
            "embedders": available_embedders(),
            "embedder": manifest.get("embedder") or self.settings.match_embedder,
            "configured_embedder": self.settings.match_embedder,
            "dim": manifest.get("dim"),
            "built": bool(manifest),
            "stale": bool(manifest.get("stale")),
            "outdated": outdated(manifest),
            "build": self._build_info(),
            "targets": {
                t.value: {
                    "indexed": counts[t.value],
                    "built_at": manifest.get("targets", {}).get(t.value, {}).get("built_at"),
                }
                for t in Target
            },
        }

    def _build_info(self) -> dict[str, Any]:
        state = self.building.status()
        return {
            "state": state.state,
            "phase": state.phase,
            "percent": state.percent,
            "pid": state.pid,
            "started_at": state.started_at,
            "error": state.error,
        }


#: the modules of the built-in backends and embedders, imported (to register) on first use
BUILTIN_BACKENDS = {
    "embedded": "shelfbridge.matching.index.embedded",
    "milvus": "shelfbridge.matching.index.milvus",
}
BUILTIN_EMBEDDERS = "shelfbridge.matching.embedders"
EMBEDDER_FOLDER = "embedders"  # what a corpus-fitted embedder learned, under the data directory


def _matchable(document: MatchDocument) -> bool:
    """A record with no matched text (a person with neither expertise, profile nor public results)
    is left out of the index: nothing could ever match it but by accident."""
    return bool(document.text.strip())


def _create_backend(runtime: MatchRuntime) -> Any:
    from shelfbridge.matching.index.base import backend_factory

    name = runtime.backend_name
    if name in BUILTIN_BACKENDS:
        importlib.import_module(BUILTIN_BACKENDS[name])
    return backend_factory(name)(settings=runtime.settings)


def _import_builtin_embedders() -> None:
    try:
        importlib.import_module(BUILTIN_EMBEDDERS)
    except ImportError:  # pragma: no cover - the built-ins register elsewhere
        logger.debug("no module %s", BUILTIN_EMBEDDERS)


def available_embedders() -> list[str]:
    """The names SHELFBRIDGE_MATCH_EMBEDDER may take (built-in and registered)."""
    from shelfbridge.matching.embedders.base import embedder_names

    _import_builtin_embedders()
    return embedder_names()


def _create_embedder(runtime: MatchRuntime) -> Any:
    from shelfbridge.matching.embedders.base import create_embedder, embedder_names

    name = runtime.settings.match_embedder
    if name not in embedder_names():
        _import_builtin_embedders()
    try:
        return create_embedder(name, cache_dir=runtime.settings.data_dir / EMBEDDER_FOLDER)
    except LookupError:
        raise IndexNotReady(
            N_("Unknown embedder “{name}” (SHELFBRIDGE_MATCH_EMBEDDER): use one of {names}."),
            name=name,
            names=", ".join(embedder_names()) or "—",
        ) from None


def _create_matcher(runtime: MatchRuntime) -> Matcher:
    from shelfbridge.matching.ranking import Matcher as RankingMatcher

    return RankingMatcher(runtime.backend, runtime.embedder, runtime.analyzer)


def attach_runtime(settings: Settings, database: Database, **parts: Any) -> MatchRuntime:
    """A runtime for this database, attached so that the service and the sync find it."""
    existing = runtime_of(database)
    if existing is not None and not parts:
        return existing
    runtime = MatchRuntime(settings, database, **parts)
    sync.attach(database, runtime)
    return runtime


def runtime_of(database: Database) -> MatchRuntime | None:
    found = sync.maintainer_for(database.writer)
    return found if isinstance(found, MatchRuntime) else None


def index_state(database: Database) -> BuildState:
    """Where the match index of this database stands (asking starts nothing)."""
    runtime = runtime_of(database)
    return runtime.building.status() if runtime is not None else BuildState(building.MISSING)


def runtime_for(session: Session) -> MatchRuntime:
    found = sync.maintainer_for(session.bind) if session.bind is not None else None
    if not isinstance(found, MatchRuntime):
        raise RuntimeError("matching is not set up for this database (see attach_runtime)")
    return found

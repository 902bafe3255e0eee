"""Matching, as the API, the pages and the CLI call it: who may see what, filters, and the
match runtime (index backend, embedder and matcher, loaded on first use).

Every entry point takes the caller's session and acts for the current actor
(:data:`shelfbridge.accounts.actor.current_actor`):

1. the caller's :class:`~shelfbridge.matching.types.Scope` is computed with the rules of
   :mod:`shelfbridge.accounts.visibility` (public; ``internal`` and ``partners`` records of the
   organisations where the caller reads internal records; ``partners`` records shared with
   them by a live sharing grant) and handed to the index, which never returns a candidate
   outside it;
2. the matcher ranks the candidates;
3. the final hits are read again from the database through
   :func:`~shelfbridge.accounts.visibility.visible_clause`, so that a stale index can never
   show a record the caller may not see; their titles come from the database too, and a
   read of a non-public record is a security event, as in the registry;
4. explanations keep only what the hit itself contains (its own terms), so terms drawn from
   other records by feedback can never reveal a record the caller does not see.

The runtime is attached to a :class:`~shelfbridge.core.database.Database` (``create_app`` and
the CLI do it): the service finds it from the session, and :mod:`.sync` keeps its index up to
date after each commit. Nothing is loaded until the first match or write that needs it.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import SYSTEM, Actor, current_actor
from shelfbridge.accounts.models import SharingGrant
from shelfbridge.accounts.visibility import READ_INTERNAL, visible_clause
from shelfbridge.core.database import Database
from shelfbridge.core.errors import (
    BadRequest,
    FieldProblem,
    NotFound,
    ShelfbridgeError,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_
from shelfbridge.core.settings import Settings
from shelfbridge.matching import documents as docs
from shelfbridge.matching import sync
from shelfbridge.matching.types import (
    Explanation,
    Hit,
    MatchDocument,
    MatchFilters,
    Scope,
    Target,
)
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.models import (
    ClusterMember,
    Demand,
    Organization,
    Person,
    ReferenceTerm,
    Region,
    Result,
)
from shelfbridge.registry.repository import get_by_id, region_prefix

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
QUERY_MAX = 2000  # characters of free text
MANIFEST_NAME = "match-manifest.json"
MANIFEST_VERSION = 1
INDEX_FOLDER = "index"  # the embedded backend's folder under the data directory
EMBED_BATCH = 256
FIT_PHASE = "vocabulary"  # the progress phase of fitting a corpus-fitted embedder

#: what each kind of record may be matched with
DEMAND_TARGETS = (Target.RESULTS, Target.PEOPLE, Target.ORGANIZATIONS)
RESULT_TARGETS = (Target.DEMANDS, Target.ORGANIZATIONS)

#: which filters apply to which target (the others are ignored for it)
APPLICABLE: dict[Target, frozenset[str]] = {
    Target.RESULTS: frozenset({"kinds", "region_prefixes", "trl", "disciplines", "org_kinds"}),
    Target.DEMANDS: frozenset({"region_prefixes", "industries"}),
    Target.PEOPLE: frozenset({"region_prefixes", "org_kinds"}),
    Target.ORGANIZATIONS: frozenset({"kinds", "region_prefixes", "org_kinds"}),
}
_TENANT_MODELS: dict[Target, type[Any]] = {Target.RESULTS: Result, Target.DEMANDS: Demand}


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


# ---------------------------------------------------------------- scope and filters
def scope_for(session: Session, target: Target, actor: Actor | None = None) -> Scope:
    """The records of ``target`` the actor may see beyond the public ones."""
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return Scope(unrestricted=True)
    model = _TENANT_MODELS.get(Target(target))
    readable = actor.orgs_with(READ_INTERNAL)
    if model is None or not readable:
        return Scope()  # people and organisations are public; the rest: public records only
    granted = session.scalars(
        select(SharingGrant.record_id)
        .join(model, model.id == SharingGrant.record_id)
        .where(
            SharingGrant.record_kind == Target(target).value,
            SharingGrant.grantee_org_id.in_(readable),
            SharingGrant.withdrawn_at.is_(None),
            model.confidentiality == v.PARTNERS,
        )
    )
    return Scope(owner_org_ids=readable, granted_record_ids=frozenset(int(i) for i in granted))


@dataclass(frozen=True)
class FilterInput:
    """Filters as a person gives them (API query, CLI options), before they are checked."""

    kinds: Sequence[str] = ()
    regions: Sequence[str] = ()  # six-digit codes: a province, a city or a county
    clusters: Sequence[str] = ()  # city cluster keys (city_clusters.key)
    trl_min: int | None = None
    trl_max: int | None = None
    disciplines: Sequence[str] = ()
    industries: Sequence[str] = ()
    org_kinds: Sequence[str] = ()


def resolve_filters(
    session: Session, given: FilterInput, target: Target, *, strict: bool = True
) -> MatchFilters:
    """Check the filters and turn regions and city clusters into region code prefixes.

    A region and a cluster together keep the records in both. Raises
    :class:`ValidationFailed` naming every filter value that cannot be right. With
    ``strict=False`` (the API, like the registry's list filters) a well-formed region code or
    cluster key that the reference data does not know, and a TRL range whose lowest level is
    above its highest, are no error: they match nothing.
    """
    problems: list[FieldProblem] = []
    nothing = False  # lenient: a filter that no record can pass
    # A kind of the other vocabulary (a result kind for organisations) matches nothing.
    kinds_known = v.ORGANIZATION_KINDS.keys() | v.RESULT_KINDS.keys()
    for kind in given.kinds:
        if kind not in kinds_known:
            problems.append(FieldProblem("kind", "Unknown value “{value}”.", {"value": kind}))
    for kind in given.org_kinds:
        if kind not in v.ORGANIZATION_KINDS:
            problems.append(FieldProblem("org_kind", "Unknown value “{value}”.", {"value": kind}))
    for level, name in ((given.trl_min, "trl_min"), (given.trl_max, "trl_max")):
        if level is not None and not 1 <= level <= 9:
            problems.append(FieldProblem(name, "A TRL is a whole number from 1 to 9."))
    if given.trl_min is not None and given.trl_max is not None and given.trl_min > given.trl_max:
        if strict:
            problems.append(
                FieldProblem("trl_max", "The highest TRL must not be below the lowest TRL.")
            )
        nothing = True
    industries = tuple(i.upper() for i in given.industries)
    if industries:
        known = set(
            session.scalars(
                select(ReferenceTerm.code).where(
                    ReferenceTerm.vocabulary == v.INDUSTRY_VOCABULARY,
                    ReferenceTerm.code.in_(industries),
                )
            )
        )
        for code in industries:
            if code not in known:
                problems.append(
                    FieldProblem("industry", "Unknown value “{value}”.", {"value": code})
                )
    region_prefixes: list[str] = []
    if given.regions:
        known_regions = set(
            session.scalars(select(Region.code).where(Region.code.in_(list(given.regions))))
        )
        for code in given.regions:
            if code in known_regions:
                region_prefixes.append(region_prefix(code))
            elif strict:
                problems.append(
                    FieldProblem("region", "Unknown region code “{value}”.", {"value": code})
                )
        nothing = nothing or not region_prefixes
    cluster_prefixes: list[str] = []
    if given.clusters:
        members: dict[str, list[str]] = {}
        for key, code in session.execute(
            select(ClusterMember.cluster_key, ClusterMember.region_code).where(
                ClusterMember.cluster_key.in_(list(given.clusters))
            )
        ).all():
            members.setdefault(key, []).append(region_prefix(code))
        for key in given.clusters:
            if key in members:
                cluster_prefixes.extend(members[key])
            elif strict:
                problems.append(
                    FieldProblem("cluster", "Unknown city cluster “{value}”.", {"value": key})
                )
        nothing = nothing or not cluster_prefixes
    for discipline in given.disciplines:
        if len(discipline) > 100:
            problems.append(FieldProblem("discipline", "At most {max} characters.", {"max": 100}))
    if problems:
        raise ValidationFailed(problems)
    prefixes = _intersect_regions(region_prefixes, cluster_prefixes, bool(given.clusters))
    if nothing:
        prefixes = (NOWHERE,)
    return applicable(
        MatchFilters(
            kinds=tuple(dict.fromkeys(given.kinds)),
            region_prefixes=prefixes,
            trl_min=given.trl_min,
            trl_max=given.trl_max,
            disciplines=tuple(dict.fromkeys(given.disciplines)),
            industries=tuple(dict.fromkeys(industries)),
            org_kinds=tuple(dict.fromkeys(given.org_kinds)),
        ),
        target,
    )


NOWHERE = "999999"  # a region prefix no code has: region filters with nothing in common


def _intersect_regions(
    regions: list[str], clusters: list[str], cluster_given: bool
) -> tuple[str, ...]:
    regions = list(dict.fromkeys(regions))
    clusters = list(dict.fromkeys(clusters))
    if not cluster_given:
        return tuple(regions)
    if not regions:
        return tuple(clusters)
    both: list[str] = []
    for region in regions:
        for member in clusters:
            if member.startswith(region):
                both.append(member)
            elif region.startswith(member):
                both.append(region)
    return tuple(dict.fromkeys(both)) or (NOWHERE,)


def applicable(filters: MatchFilters, target: Target) -> MatchFilters:
    """The filters with those that do not apply to ``target`` left out."""
    keep = APPLICABLE[Target(target)]
    return MatchFilters(
        kinds=filters.kinds if "kinds" in keep else (),
        region_prefixes=filters.region_prefixes if "region_prefixes" in keep else (),
        trl_min=filters.trl_min if "trl" in keep else None,
        trl_max=filters.trl_max if "trl" in keep else None,
        disciplines=filters.disciplines if "disciplines" in keep else (),
        industries=filters.industries if "industries" in keep else (),
        org_kinds=filters.org_kinds if "org_kinds" in keep else (),
    )


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


Progress = Callable[[str, int, int], None]


def _no_progress(target: str, done: int, total: int) -> None:
    return None


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
        sync.detach(self.database, self)
        self._matcher = None
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return {}
        if data.get("database") != self.database_identity():
            return {}  # an index of another database: as if none were built
        if data.get("backend") != self.backend_name:
            return {}
        return data

    def _write_manifest(self, data: dict[str, Any]) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.manifest_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        temporary.replace(self.manifest_path)

    def built_targets(self) -> set[Target]:
        return {Target(t) for t in self.read_manifest().get("targets", {})}

    def is_built(self) -> bool:
        return bool(self.built_targets())

    def mark_stale(self) -> None:
        manifest = self.read_manifest()
        if manifest:
            manifest["stale"] = True
            self._write_manifest(manifest)

    def ensure_ready(self, target: Target) -> None:
        """Build the index on first use; refuse an index built for another embedder."""
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
        with self._lock:
            if Target(target).value in self.read_manifest().get("targets", {}):
                return
            # A first build covers every target (a corpus-fitted embedder learns from all).
            missing = [t for t in Target if t not in self.built_targets()]
            self.rebuild(missing, fit=not self.built_targets())

    # ------------------------------------------------------------------ building
    def records_for(self, target: Target, documents: Sequence[MatchDocument]) -> list[Any]:
        """Analysed and embedded records, ready for the backend."""
        from shelfbridge.matching.index.base import IndexedRecord

        analyzer = self.analyzer
        texts = [d.text for d in documents]
        counts = [analyzer.term_counts(text) for text in texts]
        embedder = self.embedder
        from_counts = getattr(embedder, "embed_term_counts", None)
        if not texts:
            vectors: Any = []
        elif callable(from_counts):  # a static embedder: no second analysis of the texts
            vectors = from_counts(counts)
        else:
            vectors = embedder.embed_documents(texts)
        return [
            IndexedRecord(
                record_id=d.record_id,
                external_id=d.external_id,
                vector=vectors[i],
                term_counts=counts[i],
                attributes=d.attributes,
            )
            for i, d in enumerate(documents)
        ]

    def rebuild(
        self,
        targets: Iterable[Target] | None = None,
        *,
        progress: Progress = _no_progress,
        fit: bool | None = None,
    ) -> RebuildReport:
        """Build the index of these targets (all by default) from the database, as the
        system. A corpus-fitted embedder is fitted first when every target is rebuilt."""
        chosen = list(dict.fromkeys(Target(t) for t in (targets or list(Target))))
        fit = len(chosen) == len(Target) if fit is None else fit
        started = time.perf_counter()
        report = RebuildReport()
        token = current_actor.set(SYSTEM)
        try:
            with self._lock:
                totals = self._count(chosen)
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
                manifest["dim"] = int(getattr(self.embedder, "dim", 0) or 0)
                manifest["stale"] = False
                for target in chosen:
                    manifest["targets"][target.value] = {
                        "records": report.records[target.value],
                        "built_at": _now(),
                    }
                manifest["seconds"] = round(report.seconds, 3)
                self._write_manifest(manifest)
        finally:
            current_actor.reset(token)
        return report

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
            "targets": {
                t.value: {
                    "indexed": counts[t.value],
                    "built_at": manifest.get("targets", {}).get(t.value, {}).get("built_at"),
                }
                for t in Target
            },
        }


#: the modules of the built-in backends and embedders, imported (to register) on first use
BUILTIN_BACKENDS = {
    "embedded": "shelfbridge.matching.index.embedded",
    "milvus": "shelfbridge.matching.index.milvus",
}
BUILTIN_EMBEDDERS = "shelfbridge.matching.embedders"
EMBEDDER_FOLDER = "embedders"  # what a corpus-fitted embedder learned, under the data directory


def _matchable(document: MatchDocument) -> bool:
    """A record with no matched text (a person with neither expertise nor public results)
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


def runtime_for(session: Session) -> MatchRuntime:
    found = sync.maintainer_for(session.bind) if session.bind is not None else None
    if not isinstance(found, MatchRuntime):
        raise RuntimeError("matching is not set up for this database (see attach_runtime)")
    return found


# ---------------------------------------------------------------- matching
def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            [FieldProblem("top", "Give a number from 1 to {max}.", {"max": MAX_LIMIT})]
        )
    return limit


_DISPLAY: dict[Target, tuple[Any, Any]] = {
    Target.RESULTS: (Result, Result.title),
    Target.DEMANDS: (Demand, Demand.title),
    Target.PEOPLE: (Person, Person.name),
    Target.ORGANIZATIONS: (Organization, Organization.name),
}


@dataclass(frozen=True)
class _Visible:
    id: int
    external_id: str
    title: str
    confidentiality: str


def _visible(session: Session, target: Target, ids: Sequence[int]) -> dict[int, _Visible]:
    """The hits the caller may see now, read from the database (never from the index)."""
    if not ids:
        return {}
    model, title = _DISPLAY[target]
    confidentiality = getattr(model, "confidentiality", None)
    columns = [model.id, model.external_id, title]
    if confidentiality is not None:
        columns.append(confidentiality)
    statement = select(*columns).where(model.id.in_(list(ids)), visible_clause(model))
    found = {}
    for row in session.execute(statement):
        found[int(row[0])] = _Visible(
            int(row[0]), str(row[1]), str(row[2] or ""), str(row[3]) if len(row) > 3 else v.PUBLIC
        )
    return found


def _own_terms(runtime: MatchRuntime, target: Target, ids: Sequence[int]) -> dict[int, set[str]]:
    try:
        counts = runtime.backend.term_counts(target, list(ids))
    except Exception:  # pragma: no cover - the explanation then names no added terms
        logger.exception("Stored term counts could not be read for explanations.")
        return {i: set() for i in ids}
    return {ident: set(c) for ident, c in zip(ids, counts, strict=True)}


def _safe_explanation(explanation: Explanation, own_terms: set[str]) -> Explanation:
    """Only what the hit itself holds: added terms that are not its own are left out."""
    expanded = tuple(t for t in explanation.expanded_terms if t in own_terms)
    matched = tuple(t for t in explanation.matched_terms if t in own_terms or not own_terms)
    return replace(explanation, expanded_terms=expanded, matched_terms=matched)


def _hits(
    session: Session,
    runtime: MatchRuntime,
    target: Target,
    ranked: Sequence[tuple[int, float, Explanation]],
    limit: int,
) -> list[Hit]:
    candidates = list(ranked)
    visible = _visible(session, target, [i for i, _s, _e in candidates])
    kept = [(i, s, e) for i, s, e in candidates if i in visible][:limit]
    own = _own_terms(runtime, target, [i for i, _s, _e in kept]) if kept else {}
    hits = [
        Hit(
            target=target,
            record_id=ident,
            external_id=visible[ident].external_id,
            title=visible[ident].title,
            score=float(score),
            explanation=_safe_explanation(explanation, own.get(ident, set())),
        )
        for ident, score, explanation in kept
    ]
    kind = target.value if target in _TENANT_MODELS else None
    if kind is not None:
        security.note_reads(kind, [visible[h.record_id] for h in hits])
    return hits


def _text_loader(session: Session, target: Target) -> TextLoader:
    """Record ids → their matched text, for the passages of explanations: only records the
    caller may see are read (the database decides, not the index)."""

    def load(ids: Sequence[int]) -> Mapping[int, str]:
        visible = sorted(_visible(session, target, list(ids)))
        return {d.record_id: d.text for d in docs.load_documents(session, target, visible)}

    return load


def _search(
    session: Session,
    target: Target,
    text: str,
    filters: MatchFilters,
    limit: int,
    *,
    whole_record: bool = False,
) -> list[Hit]:
    """Rank, then keep what the database says the caller may see. ``whole_record``: the text
    is a record's (a demand's, a result's), matched as a document rather than as a query."""
    target = Target(target)
    limit = _check_limit(limit)
    runtime = runtime_for(session)
    runtime.ensure_ready(target)
    scope = scope_for(session, target)
    filters = applicable(filters, target)
    if NOWHERE in filters.region_prefixes:
        return []  # a region and a city cluster with nothing in common
    # A few more than asked for: the database check may drop some (a stale index).
    wanted = limit + 5
    loader = _text_loader(session, target)
    matcher = runtime.matcher
    if whole_record:
        ranked = matcher.similar(target, text, filters, scope, wanted, text_loader=loader)
    else:
        ranked = matcher.search(target, text, filters, scope, wanted, text_loader=loader)
    return _hits(session, runtime, target, ranked, limit)


def match_text(
    session: Session,
    text: str,
    target: Target,
    *,
    filters: MatchFilters | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Hit]:
    """Free text (Chinese or English) → the best records of ``target`` the caller may see."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed([FieldProblem("q", "Type what you are looking for.")])
    if len(text) > QUERY_MAX:
        raise ValidationFailed([FieldProblem("q", "At most {max} characters.", {"max": QUERY_MAX})])
    return _search(session, target, text, filters or MatchFilters(), limit)


def _record_text(record: Any) -> str:
    if isinstance(record, Demand):
        return "\n".join(p for p in (record.title, record.description) if p)
    keywords = " ".join(record.keywords or ())
    return "\n".join(p for p in (record.title, keywords, record.abstract or "") if p)


def _default_org_kinds(filters: MatchFilters, kinds: tuple[str, ...]) -> MatchFilters:
    if filters.org_kinds or filters.kinds:
        return filters
    return replace(filters, org_kinds=kinds)


def match_demand(
    session: Session,
    demand_id: int,
    target: Target,
    *,
    filters: MatchFilters | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Hit]:
    """A demand → the results, experts (people) or labs (organisations) that fit it.

    Organisations default to labs (universities, institutes, national and state key labs).
    A demand the caller may not see is :class:`NotFound`, like one that does not exist.
    """
    target = Target(target)
    if target not in DEMAND_TARGETS:
        raise BadRequest(
            "A demand can be matched with: {targets}.",
            targets=", ".join(t.value for t in DEMAND_TARGETS),
        )
    demand = get_by_id(session, Demand, demand_id)
    if demand is None:
        raise NotFound("demands")
    filters = filters or MatchFilters()
    if target == Target.ORGANIZATIONS:
        filters = _default_org_kinds(filters, docs.LAB_KINDS)
    return _search(session, target, _record_text(demand), filters, limit, whole_record=True)


def match_result(
    session: Session,
    result_id: int,
    target: Target,
    *,
    filters: MatchFilters | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Hit]:
    """A result → the demands and enterprises (organisations) it fits.

    Organisations default to enterprises. A result the caller may not see is
    :class:`NotFound`, like one that does not exist.
    """
    target = Target(target)
    if target not in RESULT_TARGETS:
        raise BadRequest(
            "A result can be matched with: {targets}.",
            targets=", ".join(t.value for t in RESULT_TARGETS),
        )
    result = get_by_id(session, Result, result_id)
    if result is None:
        raise NotFound("results")
    filters = filters or MatchFilters()
    if target == Target.ORGANIZATIONS:
        filters = _default_org_kinds(filters, docs.ENTERPRISE_KINDS)
    return _search(session, target, _record_text(result), filters, limit, whole_record=True)

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
The runtime itself lives in :mod:`.runtime`; its public names are re-exported here, where the
callers import them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.accounts.models import SharingGrant
from shelfbridge.accounts.visibility import READ_INTERNAL, visible_clause
from shelfbridge.core.errors import (
    BadRequest,
    FieldProblem,
    NotFound,
    ValidationFailed,
)
from shelfbridge.matching import documents as docs
from shelfbridge.matching.analysis import holds
from shelfbridge.matching.build_files import Progress as Progress
from shelfbridge.matching.building import (
    IndexBuildFailed as IndexBuildFailed,
)
from shelfbridge.matching.building import (
    IndexBuilding as IndexBuilding,
)
from shelfbridge.matching.runtime import (  # the runtime's public names, as before
    EMBED_BATCH as EMBED_BATCH,
)
from shelfbridge.matching.runtime import (
    EMBEDDER_FOLDER as EMBEDDER_FOLDER,
)
from shelfbridge.matching.runtime import (
    FIT_PHASE as FIT_PHASE,
)
from shelfbridge.matching.runtime import (
    INDEX_FOLDER as INDEX_FOLDER,
)
from shelfbridge.matching.runtime import (
    MANIFEST_NAME as MANIFEST_NAME,
)
from shelfbridge.matching.runtime import (
    MANIFEST_VERSION as MANIFEST_VERSION,
)
from shelfbridge.matching.runtime import (
    IndexNotReady as IndexNotReady,
)
from shelfbridge.matching.runtime import (
    Matcher as Matcher,
)
from shelfbridge.matching.runtime import (
    MatchRuntime as MatchRuntime,
)
from shelfbridge.matching.runtime import (
    Ranked as Ranked,
)
from shelfbridge.matching.runtime import (
    RebuildReport as RebuildReport,
)
from shelfbridge.matching.runtime import (
    TextLoader as TextLoader,
)
from shelfbridge.matching.runtime import (
    attach_runtime as attach_runtime,
)
from shelfbridge.matching.runtime import (
    available_embedders as available_embedders,
)
from shelfbridge.matching.runtime import (
    index_state as index_state,
)
from shelfbridge.matching.runtime import (
    runtime_for as runtime_for,
)
from shelfbridge.matching.runtime import (
    runtime_of as runtime_of,
)
from shelfbridge.matching.types import (
    Explanation,
    Hit,
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
    matched = tuple(t for t in explanation.matched_terms if not own_terms or holds(own_terms, t))
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
    exact: bool = False,
) -> list[Hit]:
    """Rank, then keep what the database says the caller may see. ``whole_record``: the text
    is a record's (a demand's, a result's), matched as a document rather than as a query;
    ``exact``: only records that hold the query as typed."""
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
        ranked = matcher.search(
            target, text, filters, scope, wanted, text_loader=loader, exact=exact
        )
    return _hits(session, runtime, target, ranked, limit)


def match_text(
    session: Session,
    text: str,
    target: Target,
    *,
    filters: MatchFilters | None = None,
    limit: int = DEFAULT_LIMIT,
    exact: bool = False,
) -> list[Hit]:
    """Free text (Chinese or English) → the best records of ``target`` the caller may see;
    ``exact``: only those that hold the text as typed (every word, each Chinese run whole)."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed([FieldProblem("q", "Type what you are looking for.")])
    if len(text) > QUERY_MAX:
        raise ValidationFailed([FieldProblem("q", "At most {max} characters.", {"max": QUERY_MAX})])
    return _search(session, target, text, filters or MatchFilters(), limit, exact=exact)


def read_as(session: Session, text: str) -> list[tuple[str, str]]:
    """How a free-text query's English words were read: each with the Chinese corpus word it
    was searched as (see :meth:`~.ranking.Matcher.bridge_pairs`); ask after
    :func:`match_text`, which makes sure the index is there."""
    return runtime_for(session).matcher.bridge_pairs((text or "").strip())


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

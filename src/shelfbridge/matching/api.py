"""JSON API of matching: free text → any target, a demand → results, people and labs, a result →
demands and enterprises. Every hit is a record the caller may see (see :mod:`.service`).
While the index is first built they answer 503 with ``Retry-After``; ``/match/index-status``
says how far the build is (see :mod:`.building`)."""
# No "from __future__ import annotations": FastAPI must see the parameter types at runtime.

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, StringConstraints, WithJsonSchema

from shelfbridge.accounts import policy
from shelfbridge.matching import service
from shelfbridge.matching.building import BuildState
from shelfbridge.matching.types import Hit, MatchFilters, Target
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.schemas import FILLED, NO_NUL, REGION_PATTERN
from shelfbridge.web.deps import PROBLEM_RESPONSES, ReadSession, RecordId

RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    503: {
        "description": "The match index is being built (the problem's phase and percent say "
        "how far; see GET /api/v1/match/index-status), its build failed moments ago, or it "
        "must be rebuilt (shelfbridge index rebuild)",
        "content": {"application/problem+json": {}},
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before asking again (while building, or "
                "after a failed build).",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}
ROUTES = {
    "match_text": policy.PUBLIC,
    "match_demand": policy.PUBLIC,
    "match_result": policy.PUBLIC,
    "match_index_status": policy.PUBLIC,
}


class IndexState(StrEnum):
    ready = "ready"
    building = "building"
    failed = "failed"
    missing = "missing"


class IndexStatusOut(BaseModel):
    """Whether matches can be answered now, and how far a build of the index is."""

    state: IndexState = Field(
        description="ready: matches are answered; building: the index is being built (by "
        "this server or another process); failed: the last build failed (the next match "
        "tries again after a pause); missing: not built, the next match starts the build."
    )
    phase: str | None = Field(
        description="What the build does now: starting, vocabulary (a corpus-fitted embedder "
        "learns the texts), then results, demands, people, organizations. Null unless "
        "building or failed."
    )
    done: int = Field(ge=0, description="Records done in this phase.")
    total: int = Field(ge=0, description="Records of this phase.")
    percent: int = Field(ge=0, le=100, description="How far the whole build is.")
    started_at: str | None = Field(description="When the build started (UTC, ISO 8601).")


def _status_out(state: BuildState) -> IndexStatusOut:
    active = state.state in (IndexState.building, IndexState.failed)
    return IndexStatusOut(
        state=IndexState(state.state),
        phase=state.phase if active else None,
        done=state.done,
        total=state.total,
        percent=state.percent,
        started_at=state.started_at if active else None,
    )


class DemandTarget(StrEnum):
    results = "results"
    people = "people"
    organizations = "organizations"


class ResultTarget(StrEnum):
    demands = "demands"
    organizations = "organizations"


class ExplanationOut(BaseModel):
    """Why a record matched."""

    matched_terms: list[str] = Field(
        description="Query words found in the record, then the longest pieces of the query's "
        "Chinese text whose character bigrams the record holds; for a query written without "
        "Chinese (or the lower-case English words of a Chinese query), then the Chinese "
        "words they were read as (their nearest corpus words, see read_as) that the record "
        "holds."
    )
    passages: list[str] = Field(description="Excerpts of the record that matched best.")
    signals: dict[str, float] = Field(
        description="What contributed to the score (lexical, semantic, feedback, fusion)."
    )
    expanded_terms: list[str] = Field(
        description="Terms the matcher added to the query that the record contains."
    )


class HitOut(BaseModel):
    target: Target
    id: int
    external_id: str
    title: str
    score: float
    explanation: ExplanationOut


class ReadAsOut(BaseModel):
    """An English word of the query and the Chinese corpus word it was searched as."""

    word: str
    read_as: str


class MatchesOut(BaseModel):
    target: Target
    count: int = Field(description="How many hits are returned (all visible to the caller).")
    hits: list[HitOut]
    read_as: list[ReadAsOut] = Field(
        default_factory=list,
        description="For a free-text query: its English words that were searched through "
        "their nearest Chinese corpus words (all of them in a query without Chinese; in a "
        "Chinese query, those typed in lower case), each with that word. Empty otherwise.",
    )


Top = Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description="How many hits at most.")]
KIND_VALUES = sorted(set(v.RESULT_KINDS) | set(v.ORGANIZATION_KINDS))
KindValue = Annotated[
    str, StringConstraints(max_length=40), WithJsonSchema({"type": "string", "enum": KIND_VALUES})
]
OrgKindValue = Annotated[
    str,
    StringConstraints(max_length=40),
    WithJsonSchema({"type": "string", "enum": sorted(v.ORGANIZATION_KINDS)}),
]
Kinds = Annotated[
    list[KindValue] | None,
    Query(
        description="Kind of result (for results) or of organisation (for organisations); "
        "repeat for several."
    ),
]
Regions = Annotated[
    list[Annotated[str, StringConstraints(pattern=REGION_PATTERN)]] | None,
    Query(
        description="GB/T 2260 code of a province, city or county (repeat for several); a "
        "code the reference data does not know matches nothing."
    ),
]
Clusters = Annotated[
    list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]] | None,
    Query(
        description="Key of a city cluster, e.g. yangtze_river_delta; a key the reference "
        "data does not know matches nothing."
    ),
]
Trl = Annotated[
    int | None, Query(ge=1, le=9, description="A lowest above the highest matches nothing.")
]
Disciplines = Annotated[
    list[Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)]] | None,
    Query(description="Discipline (repeat for several)."),
]
Industries = Annotated[
    list[Annotated[str, StringConstraints(pattern=r"^[A-Ta-t]$")]] | None,
    Query(description="GB/T 4754 section letter (repeat for several)."),
]
OrgKinds = Annotated[
    list[OrgKindValue] | None,
    Query(description="Kind of the owning or employing organisation (repeat for several)."),
]


def _hit_out(hit: Hit) -> HitOut:
    e = hit.explanation
    return HitOut(
        target=hit.target,
        id=hit.record_id,
        external_id=hit.external_id,
        title=hit.title,
        score=round(hit.score, 6),
        explanation=ExplanationOut(
            matched_terms=list(e.matched_terms),
            passages=list(e.passages),
            signals={k: round(float(x), 6) for k, x in e.signals.items()},
            expanded_terms=list(e.expanded_terms),
        ),
    )


def _out(
    target: Target, hits: list[Hit], read_as: list[tuple[str, str]] | None = None
) -> MatchesOut:
    return MatchesOut(
        target=target,
        count=len(hits),
        hits=[_hit_out(h) for h in hits],
        read_as=[ReadAsOut(word=w, read_as=c) for w, c in read_as or ()],
    )


def _filters(
    session: ReadSession,
    target: Target,
    kind: list[str] | None,
    region: list[str] | None,
    cluster: list[str] | None,
    trl_min: int | None,
    trl_max: int | None,
    discipline: list[str] | None,
    industry: list[str] | None,
    org_kind: list[str] | None,
) -> MatchFilters:
    given = service.FilterInput(
        kinds=kind or (),
        regions=region or (),
        clusters=cluster or (),
        trl_min=trl_min,
        trl_max=trl_max,
        disciplines=discipline or (),
        industries=industry or (),
        org_kinds=org_kind or (),
    )
    # As the registry's list filters: an unknown region or cluster matches nothing.
    return service.resolve_filters(session, given, target, strict=False)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(tags=["matching"])

    @router.get(
        "/match/index-status",
        response_model=IndexStatusOut,
        name="match_index_status",
        responses=PROBLEM_RESPONSES,
    )
    def match_index_status(request: Request, response: Response) -> IndexStatusOut:
        """Whether the match index is ready, being built (with its progress), failed or not
        built yet. Asking never starts a build."""
        response.headers["Cache-Control"] = "no-store"
        return _status_out(service.index_state(request.app.state.database))

    @router.get("/match", response_model=MatchesOut, name="match_text", responses=RESPONSES)
    def match_text(
        session: ReadSession,
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=service.QUERY_MAX,
                pattern=FILLED,
                description="What you are looking for, in Chinese or English.",
            ),
        ],
        target: Target = Target.RESULTS,
        top: Top = service.DEFAULT_LIMIT,
        kind: Kinds = None,
        region: Regions = None,
        cluster: Clusters = None,
        trl_min: Trl = None,
        trl_max: Trl = None,
        discipline: Disciplines = None,
        industry: Industries = None,
        org_kind: OrgKinds = None,
        exact: Annotated[
            bool,
            Query(
                description="Only records that hold the query as typed: every word, and each "
                "run of Chinese characters whole (as its adjacent pairs of characters tell). "
                "By default records are found by meaning as well."
            ),
        ] = False,
    ) -> MatchesOut:
        """Free text → the best results, demands, people or organisations."""
        filters = _filters(
            session, target, kind, region, cluster, trl_min, trl_max, discipline, industry,
            org_kind,
        )  # fmt: skip
        hits = service.match_text(session, q, target, filters=filters, limit=top, exact=exact)
        return _out(target, hits, service.read_as(session, q))

    @router.get(
        "/demands/{record_id}/matches",
        response_model=MatchesOut,
        name="match_demand",
        responses=RESPONSES,
    )
    def match_demand(
        record_id: RecordId,
        session: ReadSession,
        target: DemandTarget = DemandTarget.results,
        top: Top = service.DEFAULT_LIMIT,
        kind: Kinds = None,
        region: Regions = None,
        cluster: Clusters = None,
        trl_min: Trl = None,
        trl_max: Trl = None,
        discipline: Disciplines = None,
        org_kind: OrgKinds = None,
    ) -> MatchesOut:
        """A demand → the results, experts (people) or labs (organisations) that fit it.
        Organisations are labs unless `kind` or `org_kind` say otherwise."""
        chosen = Target(target.value)
        filters = _filters(
            session, chosen, kind, region, cluster, trl_min, trl_max, discipline, None, org_kind
        )
        hits = service.match_demand(session, record_id, chosen, filters=filters, limit=top)
        return _out(chosen, hits)

    @router.get(
        "/results/{record_id}/matches",
        response_model=MatchesOut,
        name="match_result",
        responses=RESPONSES,
    )
    def match_result(
        record_id: RecordId,
        session: ReadSession,
        target: ResultTarget = ResultTarget.demands,
        top: Top = service.DEFAULT_LIMIT,
        kind: Kinds = None,
        region: Regions = None,
        cluster: Clusters = None,
        industry: Industries = None,
        org_kind: OrgKinds = None,
    ) -> MatchesOut:
        """A result → the demands and enterprises (organisations) it fits. Organisations are
        enterprises unless `kind` or `org_kind` say otherwise."""
        chosen = Target(target.value)
        filters = _filters(
            session, chosen, kind, region, cluster, None, None, None, industry, org_kind
        )
        hits = service.match_result(session, record_id, chosen, filters=filters, limit=top)
        return _out(chosen, hits)

    return router

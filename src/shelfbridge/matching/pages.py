"""HTML pages of matching: the search page, the match sections of a demand and of a result
(loaded by htmx after the record page, so the page itself stays fast), the feedback they
received, and the feedback forms. While the match index is first built they show its progress
instead of matches (:mod:`.index_pages`).

Every text is an English message id translated through ``locale/zh/matching_pages.po``. The
matches themselves come from :mod:`shelfbridge.matching.service` through :func:`find_matches`;
how a hit is shown (marked terms, signals) is :mod:`.hit_views`, and the feedback rules live
in :mod:`.feedback_service`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts import policy, visibility
from shelfbridge.accounts.pages import safe_next
from shelfbridge.core.errors import FieldProblem, ShelfbridgeError, ValidationFailed
from shelfbridge.core.i18n import N_, current_language, gettext, translate
from shelfbridge.matching import documents as docs
from shelfbridge.matching import feedback_service, index_pages, service
from shelfbridge.matching.building import BuildState, IndexBuilding
from shelfbridge.matching.hit_views import HitView, highlight, hit_views
from shelfbridge.matching.models import COMMENT_MAX, QUERY, QUERY_MAX, REASONS, VERDICTS
from shelfbridge.matching.types import Hit, MatchFilters, Target
from shelfbridge.registry import repository
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.models import CityCluster, Organization, Result
from shelfbridge.registry.pages.common import FormData, Lookups, is_htmx, query_string, render
from shelfbridge.web.deps import ReadSession, RecordId, WriteSession

ROUTES = {
    "page_match": policy.PUBLIC,
    "page_matches_demands": policy.PUBLIC,
    "page_matches_results": policy.PUBLIC,
    "page_feedback_demands": policy.SIGNED_IN,
    "page_feedback_results": policy.SIGNED_IN,
    "page_feedback_people": policy.SIGNED_IN,
    "page_feedback_organizations": policy.SIGNED_IN,
    "page_match_feedback": policy.SIGNED_IN,
    "page_match_feedback_delete": policy.SIGNED_IN,
}

SEARCH_SIZE = 20
SECTION_SIZE = 5
TARGETS = {
    Target.RESULTS: N_("Results"),
    Target.DEMANDS: N_("Demands"),
    Target.PEOPLE: N_("People"),
    Target.ORGANIZATIONS: N_("Organisations"),
}


# ---------------------------------------------------------------- the one call into the engine
@dataclass(frozen=True)
class Source:
    """What a match starts from: free text, or a demand or result by id."""

    kind: str  # query | demands | results
    id: int | None = None
    text: str | None = None


def find_matches(
    session: Session,
    source: Source,
    target: Target,
    filters: MatchFilters,
    limit: int,
    *,
    exact: bool = False,
) -> list[Hit]:
    """The hits of one match, best first, among the records the caller may see (``exact``:
    of a free-text query, only the records that hold it as typed)."""
    if source.kind == QUERY:
        text = source.text or ""
        return list(
            service.match_text(session, text, target, filters=filters, limit=limit, exact=exact)
        )
    if source.kind == "demands":
        assert source.id is not None
        return list(service.match_demand(session, source.id, target, filters=filters, limit=limit))
    assert source.id is not None
    return list(service.match_result(session, source.id, target, filters=filters, limit=limit))


@dataclass(frozen=True)
class Giver:
    """Whether and for which organisations the caller may give feedback."""

    organizations: list[tuple[int, str]] = field(default_factory=list)

    @property
    def can_give(self) -> bool:
        return bool(self.organizations)

    @classmethod
    def load(cls, session: Session) -> Giver:
        ids = feedback_service.giving_organizations()
        if not ids:
            return cls()
        rows = session.execute(
            select(Organization.id, Organization.name)
            .where(Organization.id.in_(ids))
            .order_by(Organization.name)
        )
        return cls([(int(i), str(n)) for i, n in rows])


def verdict_options() -> list[tuple[str, str]]:
    return [(code, translate(text)) for code, text in REASONS.items()]


def _with_own_feedback(session: Session, source: Source, views: list[HitView]) -> None:
    mine = feedback_service.own_verdicts(session, source.kind, source.id, source.text)
    if not mine:
        return
    rows = [row for row in mine.values()]
    by_match = {
        (view.matched_kind, view.matched_id): view for view in feedback_service.views(session, rows)
    }
    for hit in views:
        hit.mine = by_match.get((hit.target, hit.record_id))


def _back(request: Request) -> str:
    """Where a form without htmx returns to: the page it was shown on."""
    shown = request.headers.get("HX-Current-URL")
    if shown:
        parts = urlsplit(shown)
        return safe_next(parts.path + ("?" + parts.query if parts.query else ""))
    query = request.url.query
    return safe_next(request.url.path + ("?" + query if query else ""))


def _common(request: Request, session: Session) -> dict[str, Any]:
    """What the hit cards and feedback forms read from the page."""
    return {
        "giver": Giver.load(session),
        "reasons": verdict_options(),
        "interest_label": translate(VERDICTS["interest"]),
        "comment_max": COMMENT_MAX,
        "back": _back(request),
    }


# ---------------------------------------------------------------- the search form
@dataclass
class SearchForm:
    """The search page's query string, checked: values that cannot be right are left out
    (a stale bookmark still opens), as on the list pages."""

    q: str = ""
    target: Target = Target.RESULTS
    kind: str = ""
    region: str = ""
    cluster: str = ""
    trl_min: str = ""
    trl_max: str = ""
    discipline: str = ""
    industry: str = ""
    org_kind: str = ""
    exact: bool = False  # only records that hold the query as typed

    @classmethod
    def read(cls, params: Mapping[str, str], options: SearchOptions) -> SearchForm:
        def value(name: str) -> str:
            return (params.get(name) or "").strip()

        form = cls(q=value("q")[:QUERY_MAX])
        target = value("target")
        if target in {t.value for t in Target}:
            form.target = Target(target)
        kinds = options.kinds(form.target)
        form.kind = value("kind") if value("kind") in kinds else ""
        form.region = value("region") if value("region") in options.province_codes else ""
        form.cluster = value("cluster") if value("cluster") in options.cluster_keys else ""
        low, high = value("trl_min"), value("trl_max")
        levels = {str(n) for n in range(1, 10)}
        form.trl_min = low if low in levels else ""
        form.trl_max = high if high in levels else ""
        if form.trl_min and form.trl_max and int(form.trl_min) > int(form.trl_max):
            form.trl_min, form.trl_max = form.trl_max, form.trl_min
        form.discipline = value("discipline") if value("discipline") in options.disciplines else ""
        industry = value("industry").upper()
        form.industry = industry if industry in options.industries else ""
        form.org_kind = value("org_kind") if value("org_kind") in v.ORGANIZATION_KINDS else ""
        form.exact = value("exact").lower() in {"1", "true", "on"}
        return form

    def filters(self, session: Session) -> MatchFilters:
        """The filters for the matcher; a province and a city cluster together keep the
        records in both."""
        given = service.FilterInput(
            kinds=(self.kind,) if self.kind else (),
            regions=(self.region,) if self.region else (),
            clusters=(self.cluster,) if self.cluster else (),
            trl_min=int(self.trl_min) if self.trl_min else None,
            trl_max=int(self.trl_max) if self.trl_max else None,
            disciplines=(self.discipline,) if self.discipline else (),
            industries=(self.industry,) if self.industry else (),
            org_kinds=(self.org_kind,) if self.org_kind else (),
        )
        return service.resolve_filters(session, given, self.target)

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "q": self.q,
            "target": "" if self.target == Target.RESULTS else self.target.value,
            "kind": self.kind,
            "region": self.region,
            "cluster": self.cluster,
            "trl_min": self.trl_min,
            "trl_max": self.trl_max,
            "discipline": self.discipline,
            "industry": self.industry,
            "org_kind": self.org_kind,
            "exact": "1" if self.exact else "",
        }
        values.update(changes)
        return values

    @property
    def filtered(self) -> bool:
        return any(
            (self.kind, self.region, self.cluster, self.trl_min, self.trl_max)
            + (self.discipline, self.industry, self.org_kind)
        )


@dataclass(frozen=True)
class SearchOptions:
    """The choices of the filter form, in the language of the request."""

    provinces: list[tuple[str, str]]
    clusters: list[tuple[str, str]]
    disciplines: list[str]
    industries: dict[str, str]
    trl: list[tuple[str, str]]

    @property
    def province_codes(self) -> set[str]:
        return {code for code, _name in self.provinces}

    @property
    def cluster_keys(self) -> set[str]:
        return {key for key, _name in self.clusters}

    @staticmethod
    def kinds(target: Target) -> dict[str, str]:
        if target == Target.RESULTS:
            return v.RESULT_KINDS
        if target == Target.ORGANIZATIONS:
            return v.ORGANIZATION_KINDS
        return {}

    def kind_options(self, target: Target) -> list[tuple[str, str]]:
        return [(code, translate(text)) for code, text in self.kinds(target).items()]

    @classmethod
    def load(cls, session: Session) -> SearchOptions:
        zh = current_language.get() == "zh"
        lookups = Lookups.load(session)
        provinces = [(r.code, r.name) for r in repository.regions_by_level(session, "province")]
        clusters = list(
            session.scalars(select(CityCluster).order_by(CityCluster.tier, CityCluster.key))
        )
        # Only disciplines of records the caller may see (a discipline is a record's field).
        disciplines = list(
            session.scalars(
                select(Result.discipline)
                .where(Result.discipline.is_not(None), visibility.visible_clause(Result))
                .distinct()
                .order_by(Result.discipline)
                .limit(500)
            )
        )
        return cls(
            provinces=provinces,
            clusters=[(c.key, c.name_zh if zh else c.name_en) for c in clusters],
            disciplines=[d for d in disciplines if d],
            industries=lookups.industry,
            trl=[(str(n), lookups.trl_label(n)) for n in range(1, 10)],
        )


# ---------------------------------------------------------------- routes
def _search(request: Request, session: Session) -> HTMLResponse:
    options = SearchOptions.load(session)
    form = SearchForm.read(request.query_params, options)
    hits: list[HitView] = []
    read_as: list[tuple[str, str]] = []
    source = Source(QUERY, text=form.q)
    problem = None
    build: BuildState | None = None
    if form.q:
        try:
            filters = form.filters(session)
            found = find_matches(
                session, source, form.target, filters, SEARCH_SIZE, exact=form.exact
            )
            hits = hit_views(found)
            read_as = service.read_as(session, form.q)
        except IndexBuilding as building:  # the first build: its progress, until it is done
            build = building.state
        except ShelfbridgeError as error:  # an index that must be rebuilt first, …
            problem = error.render(translate)
        _with_own_feedback(session, source, hits)
    canonical = "/match" + query_string(form.params())
    partial = is_htmx(request)
    context = {
        "form": form,
        "options": options,
        "targets": [(t.value, translate(text)) for t, text in TARGETS.items()],
        "hits": hits,
        "read_as": read_as,
        "problem": problem,
        "build": build,
        "source": source,
        "canonical_url": request.url.replace(query=canonical.partition("?")[2]),
        "oob": partial,
        **_common(request, session),
    }
    template = "matching/_search_region.html" if partial else "matching/search.html"
    response = render(request, template, context)
    response.headers["Vary"] = "HX-Request"
    if partial:
        response.headers["HX-Push-Url"] = canonical
    return response


@dataclass
class Group:
    title: str
    target: Target
    hits: list[HitView]
    more_href: str


def _groups(
    session: Session,
    source: Source,
    wanted: list[tuple[str, Target, MatchFilters]],
    text: str,
) -> list[Group]:
    groups = []
    for title, target, filters in wanted:
        hits = hit_views(find_matches(session, source, target, filters, SECTION_SIZE))
        _with_own_feedback(session, source, hits)
        more = "/match" + query_string(
            {
                "q": text[:QUERY_MAX],
                "target": target.value,
                "org_kind": filters.org_kinds[0] if len(filters.org_kinds) == 1 else "",
            }
        )
        groups.append(Group(gettext(title), target, hits, more))
    return groups


def _record_text(kind: str, record: Any) -> str:
    """The text a "search for more" link starts from."""
    if kind == "demands":
        return f"{record.title} {record.description or ''}".strip()
    keywords = " ".join(record.keywords or [])
    return f"{record.title} {keywords}".strip()


def _sections(request: Request, session: Session, kind: str, record_id: int) -> HTMLResponse:
    record = feedback_service.visible_record(session, kind, record_id)
    source = Source(kind, id=record.id)
    if kind == "demands":
        wanted = [
            (N_("Matching results"), Target.RESULTS, MatchFilters()),
            (N_("Experts"), Target.PEOPLE, MatchFilters()),
            (
                N_("Labs and institutes"),
                Target.ORGANIZATIONS,
                MatchFilters(org_kinds=docs.LAB_KINDS),
            ),
        ]
    else:
        wanted = [
            (N_("Demands it fits"), Target.DEMANDS, MatchFilters()),
            (
                N_("Enterprises"),
                Target.ORGANIZATIONS,
                MatchFilters(org_kinds=docs.ENTERPRISE_KINDS),
            ),
        ]
    problem, build = None, None
    try:
        groups = _groups(session, source, wanted, _record_text(kind, record))
    except IndexBuilding as building:
        groups, build = [], building.state
    except ShelfbridgeError as error:  # an index that must be rebuilt first, …
        groups, problem = [], error.render(translate)
    context = {
        "kind": kind,
        "record": record,
        "source": source,
        "groups": groups,
        "problem": problem,
        "build": build,
        **_common(request, session),
    }
    return render(request, "matching/_sections.html", context)


def _received(request: Request, session: Session, kind: str, record_id: int) -> HTMLResponse:
    received = feedback_service.about(session, kind, record_id, "received")
    given = (
        feedback_service.about(session, kind, record_id, "given")
        if kind in ("demands", "results")
        else []
    )
    context = {
        "kind": kind,
        "record_id": record_id,
        "received": feedback_service.views(session, received),
        "given": feedback_service.views(session, given),
    }
    return render(request, "matching/_received.html", context)


def _feedback_widget(
    request: Request,
    session: Session,
    source: Source,
    matched_kind: str,
    matched_id: int,
    *,
    mine: feedback_service.FeedbackView | None = None,
    problems: list[str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "source": source,
        "matched_kind": matched_kind,
        "matched_id": matched_id,
        "mine": mine,
        "problems": problems or [],
        "done": done,
        **_common(request, session),
    }
    return render(request, "matching/_feedback.html", context, status_code=status_code)


def _source_of(data: Mapping[str, str]) -> Source:
    kind = data.get("source_kind", "")
    ident = data.get("source_id", "")
    return Source(
        kind,
        id=int(ident) if ident.isdigit() and len(ident) < 19 else None,
        text=(data.get("query") or "").strip() or None,
    )


def _next(data: Mapping[str, str]) -> str:
    return safe_next(data.get("next"))


def _give(request: Request, session: Session, data: dict[str, str]) -> Response:
    feedback_service.require_giver()  # refused before the form is checked
    verdict = data.get("verdict", "")
    if verdict == "reason":
        verdict = data.get("reason", "")
    raw = {
        "source_kind": data.get("source_kind"),
        "source_id": data.get("source_id"),
        "query": data.get("query"),
        "matched_kind": data.get("matched_kind"),
        "matched_id": data.get("matched_id"),
        "verdict": verdict,
        "comment": data.get("comment"),
        "organization_id": data.get("organization_id"),
    }
    source = _source_of(data)
    matched_kind = data.get("matched_kind", "")
    given_id = data.get("matched_id", "")
    matched_id = int(given_id) if given_id.isdigit() and len(given_id) < 19 else 0
    try:
        if not verdict:
            raise ValidationFailed([FieldProblem("reason", N_("Choose a reason first."))])
        row = feedback_service.give(session, raw)
    except ValidationFailed as failed:
        session.rollback()
        messages = [p.render(translate) for p in failed.problems]
        if not is_htmx(request):
            raise  # the error page, with every problem
        return _feedback_widget(
            request, session, source, matched_kind, matched_id, problems=messages, status_code=422
        )
    if not is_htmx(request):
        return RedirectResponse(_next(data), status_code=303)
    view = feedback_service.views(session, [row])[0]
    return _feedback_widget(
        request, session, source, row.matched_kind, row.matched_id, mine=view, done="saved"
    )


def _delete(request: Request, session: Session, feedback_id: int, data: dict[str, str]) -> Response:
    row = feedback_service.get(session, feedback_id)
    source = Source(row.source_kind, id=row.source_id, text=row.query_text)
    matched_kind, matched_id = row.matched_kind, row.matched_id
    feedback_service.delete(session, feedback_id)
    if not is_htmx(request):
        return RedirectResponse(_next(data), status_code=303)
    if data.get("from") == "list":
        return HTMLResponse("")  # a row of a feedback table: it goes
    return _feedback_widget(request, session, source, matched_kind, matched_id, done="deleted")


def _feedback_route(router: APIRouter, kind: str) -> None:
    @router.get(
        f"/{kind}/{{record_id:int}}/feedback",
        response_class=HTMLResponse,
        name=f"page_feedback_{kind}",
    )
    def received(request: Request, record_id: RecordId, session: ReadSession) -> HTMLResponse:
        """The feedback the record received (and, for demands and results, the feedback
        given on their matches) that the visitor may read."""
        return _received(request, session, kind, record_id)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(include_in_schema=False)
    router.include_router(index_pages.build_router())

    @router.get("/match", response_class=HTMLResponse, name="page_match")
    def search(request: Request, session: ReadSession) -> HTMLResponse:
        return _search(request, session)

    @router.get(
        "/demands/{record_id:int}/matches",
        response_class=HTMLResponse,
        name="page_matches_demands",
    )
    def demand_matches(request: Request, record_id: RecordId, session: ReadSession) -> HTMLResponse:
        return _sections(request, session, "demands", record_id)

    @router.get(
        "/results/{record_id:int}/matches",
        response_class=HTMLResponse,
        name="page_matches_results",
    )
    def result_matches(request: Request, record_id: RecordId, session: ReadSession) -> HTMLResponse:
        return _sections(request, session, "results", record_id)

    for kind in ("demands", "results", "people", "organizations"):
        _feedback_route(router, kind)

    @router.post("/match/feedback", response_model=None, name="page_match_feedback")
    def give(request: Request, session: WriteSession, data: FormData) -> Response:
        return _give(request, session, data)

    @router.post(
        "/match/feedback/{feedback_id:int}/delete",
        response_model=None,
        name="page_match_feedback_delete",
    )
    def delete(
        request: Request, feedback_id: RecordId, session: WriteSession, data: FormData
    ) -> Response:
        return _delete(request, session, feedback_id, data)

    return router


__all__ = ["build_router", "find_matches", "highlight"]

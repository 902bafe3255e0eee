"""The page side of building the match index (:mod:`.building`): the panel that the match
pages show instead of matches while the index is first built, and the fragment it polls.

``GET /match/index-status`` answers the panel again while the build runs (its progress bar
moves), the failure when it failed, and an empty answer with ``HX-Refresh: true`` once the
index is ready (or no build runs any more): htmx then reloads the page, whose next request
answers the matches (or starts the build again).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shelfbridge.accounts import policy
from shelfbridge.matching import service
from shelfbridge.matching.building import BUILDING, FAILED
from shelfbridge.registry.pages.common import is_htmx, render

ROUTES = {"page_match_index_status": policy.PUBLIC}
PANEL = "matching/_index_building.html"


def _status(request: Request) -> HTMLResponse:
    state = service.index_state(request.app.state.database)
    if is_htmx(request) and state.state not in (BUILDING, FAILED):
        return HTMLResponse("", headers={"HX-Refresh": "true", "Cache-Control": "no-store"})
    response = render(request, PANEL, {"build": state})
    response.headers["Cache-Control"] = "no-store"
    return response


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(include_in_schema=False)

    @router.get("/match/index-status", response_class=HTMLResponse, name="page_match_index_status")
    def index_status(request: Request) -> HTMLResponse:
        """The build panel of the match pages, as it stands now."""
        return _status(request)

    return router

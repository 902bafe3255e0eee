"""Page routes that belong to no single domain (home), and the assembly of all pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from shelfbridge.registry import repository
from shelfbridge.registry.models import Demand, Organization, Person, Result
from shelfbridge.web.deps import ReadSession


def home_router() -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, name="home")
    def home(request: Request, session: ReadSession) -> HTMLResponse:
        counts = {
            name: repository.count_visible(session, model)
            for name, model in (
                ("results", Result),
                ("demands", Demand),
                ("organizations", Organization),
                ("people", Person),
            )
        }
        response: HTMLResponse = request.app.state.templates.TemplateResponse(
            request, "home.html", {"counts": counts}
        )
        return response

    return router


def build_router() -> APIRouter:
    from shelfbridge.ip.pages import build_router as ip_pages
    from shelfbridge.matching.pages import build_router as matching_pages
    from shelfbridge.registry.pages import build_router as registry_pages

    router = APIRouter(include_in_schema=False)
    router.include_router(home_router())
    router.include_router(registry_pages())
    router.include_router(matching_pages())
    router.include_router(ip_pages())
    return router

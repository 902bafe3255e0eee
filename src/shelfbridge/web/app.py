"""``create_app(settings)``: the one way to build the web application (pages and API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from shelfbridge import __version__
from shelfbridge.core.audit import current_actor
from shelfbridge.core.database import Database
from shelfbridge.core.i18n import current_language, negotiate
from shelfbridge.core.settings import Settings
from shelfbridge.web import errors
from shelfbridge.web.templating import make_templates

LANGUAGE_COOKIE = "shelfbridge_lang"


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Shelfbridge API",
        version=__version__,
        description="Technology-transfer platform: registry of organisations, people, "
        "results (成果) and technology demands (技术需求).",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_settings(settings)
    app.state.templates = make_templates()

    @app.middleware("http")
    async def _context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
        language = negotiate(chosen, None) if chosen else settings.default_language()
        language_token = current_language.set(language)
        actor_token = current_actor.set("anonymous")
        request.state.language = language
        try:
            response = await call_next(request)
        finally:
            current_language.reset(language_token)
            current_actor.reset(actor_token)
        if request.query_params.get("lang") in ("zh", "en"):
            response.set_cookie(
                LANGUAGE_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax"
            )
        response.headers.setdefault("Content-Language", language)
        return response

    errors.install(app)
    static = resources.files("shelfbridge") / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    from shelfbridge.registry.api import build_router
    from shelfbridge.web.pages import build_router as build_pages

    app.include_router(build_router(), prefix="/api/v1")
    app.include_router(build_pages())
    return app


def app_factory() -> Any:
    """Entry point for ``uvicorn --factory`` (settings from the environment)."""
    return create_app()

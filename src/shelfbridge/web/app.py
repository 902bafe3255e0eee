"""``create_app(settings)``: the one way to build the web application (pages and API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shelfbridge import __version__
from shelfbridge.accounts import security
from shelfbridge.accounts.actor import ANONYMOUS
from shelfbridge.accounts.actor import current_actor as request_actor
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.accounts.csrf import csrf_protect
from shelfbridge.accounts.middleware import AccountsMiddleware
from shelfbridge.accounts.policy import enforce_route_policy
from shelfbridge.core.audit import current_actor
from shelfbridge.core.database import Database
from shelfbridge.core.i18n import current_language, negotiate
from shelfbridge.core.settings import Settings
from shelfbridge.web import errors
from shelfbridge.web.templating import make_templates

LANGUAGE_COOKIE = "shelfbridge_lang"
SHUTDOWN_WAIT = 2.0  # seconds shutting down waits for a cancelled match index build


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Reads of non-public records wait in a buffer (accounts/security.py): write them before the
    # process goes (uvicorn ends its workers by a signal, so atexit handlers do not run).
    security.drain(app.state.database)
    # A first build of the match index still running stops at its next step and leaves no
    # progress behind (the next process builds it again).
    from shelfbridge.matching.service import runtime_of

    runtime = runtime_of(app.state.database)
    if runtime is not None:
        runtime.building.stop(timeout=SHUTDOWN_WAIT)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Shelfbridge API",
        version=__version__,
        description="Technology-transfer platform: registry of organisations, people, "
        "results (成果) and technology demands (技术需求).",
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(enforce_route_policy)],
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.database = database or Database.from_settings(settings)
    app.state.templates = make_templates()

    app.state.accounts = AccountsRuntime.from_settings(settings)

    # Added first, so it runs inside RequestContext: the actor is resolved once the language
    # and the security-event collection of the request are set up.
    app.add_middleware(AccountsMiddleware)
    app.add_middleware(
        RequestContext, default_language=settings.default_language(), database=app.state.database
    )

    errors.install(app)
    static = resources.files("shelfbridge") / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    from shelfbridge.accounts.api import build_router as build_accounts_api
    from shelfbridge.accounts.pages import build_router as build_account_pages
    from shelfbridge.ip.api import build_router as build_ip_api
    from shelfbridge.ip.fee_api import build_router as build_ip_fee_api
    from shelfbridge.matching.api import build_router as build_match_api
    from shelfbridge.matching.feedback_api import build_router as build_feedback_api
    from shelfbridge.matching.service import attach_runtime
    from shelfbridge.registry.api import build_router
    from shelfbridge.web.pages import build_router as build_pages

    app.include_router(build_router(), prefix="/api/v1")
    app.include_router(build_accounts_api(), prefix="/api/v1")
    app.include_router(build_ip_api(), prefix="/api/v1")
    app.include_router(build_ip_fee_api(), prefix="/api/v1")
    app.include_router(build_feedback_api(), prefix="/api/v1")
    app.include_router(build_match_api(), prefix="/api/v1")
    # The match index, embedder and model load on first use, not here; attaching it lets
    # every commit through this database update the index (matching/sync.py).
    app.state.match_runtime = attach_runtime(settings, app.state.database)
    # Every page router refuses unsafe requests without the visitor's CSRF token.
    csrf = [Depends(csrf_protect)]
    app.include_router(build_pages(), dependencies=csrf)
    app.include_router(build_account_pages(), dependencies=csrf)
    return app


class RequestContext:
    """Sets the language and the audit actor of each request (a plain ASGI middleware:
    Starlette's BaseHTTPMiddleware costs a task group per request)."""

    def __init__(self, app: ASGIApp, default_language: str, database: Database) -> None:
        self.app = app
        self.default_language = default_language
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        explicit = request.query_params.get("lang")
        chosen = explicit or request.cookies.get(LANGUAGE_COOKIE)
        language = negotiate(chosen, None) if chosen else self.default_language
        scope.setdefault("state", {})["language"] = language
        remember = explicit in ("zh", "en")

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Language", language)
                if remember:
                    headers.append(
                        "Set-Cookie",
                        f"{LANGUAGE_COOKIE}={language}; Max-Age="
                        f"{365 * 86400}; Path=/; HttpOnly; SameSite=Lax",
                    )
            await send(message)

        language_token = current_language.set(language)
        actor_token = current_actor.set("anonymous")
        # Deny by default: until authentication says otherwise, a request is anonymous.
        request_actor_token = request_actor.set(ANONYMOUS)
        security.begin(scope.get("method"), scope.get("path"))
        try:
            await self.app(scope, receive, send_with_language)
        finally:
            security.flush(self.database)
            current_language.reset(language_token)
            current_actor.reset(actor_token)
            request_actor.reset(request_actor_token)


def app_factory() -> Any:
    """Entry point for ``uvicorn --factory`` (settings from the environment)."""
    return create_app()

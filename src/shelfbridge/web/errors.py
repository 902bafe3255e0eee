"""One error, two faces: RFC 9457 problem+json for the API, an HTML page for people."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from shelfbridge.core.errors import (
    BadRequest,
    FieldProblem,
    ImportRejected,
    NotFound,
    ShelfbridgeError,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_, translate

PROBLEM_TYPE_BASE = "https://shelfbridge.org/problems/"
HTTP_ERRORS: dict[int, type[ShelfbridgeError]] = {404: NotFound, 400: BadRequest}


def problem_body(error: ShelfbridgeError, instance: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.type_slug,
        "title": translate(error.title),
        "status": error.status,
        "detail": error.render(translate),
        "instance": instance,
    }
    # RFC 9457 extension members (e.g. a build's progress); never over the standard ones
    body.update({k: v for k, v in error.extensions.items() if k not in body})
    problems: list[FieldProblem] | None = getattr(error, "problems", None)
    if problems is not None:
        body["errors"] = [
            {
                "field": p.field,
                "message": p.render(translate),
                **({"row": p.row} if p.row is not None else {}),
            }
            for p in problems
        ]
    return body


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def render_error(
    request: Request, error: ShelfbridgeError, headers: dict[str, str] | None = None
) -> Response:
    """The error as problem+json (API) or an HTML page, with the headers the error itself
    supplies (``Retry-After``, ``WWW-Authenticate``) and then those given."""
    headers = {**error.headers, **(headers or {})}
    if not wants_html(request):
        # Unknown ids and hidden records answer alike, so the instance is left out for 404s.
        instance = "" if isinstance(error, NotFound) else request.url.path
        return JSONResponse(
            problem_body(error, instance),
            status_code=error.status,
            media_type="application/problem+json",
            headers=headers,
        )
    templates = request.app.state.templates
    html = templates.get_template("error.html").render(
        request=request,
        error=error,
        title=translate(error.title),
        detail=error.render(translate),
        problems=getattr(error, "problems", None) or [],
        translate=translate,
    )
    return HTMLResponse(html, status_code=error.status, headers=headers)


def _validation_problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems = []
    for item in exc.errors():
        location = [
            str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")
        ]
        kind = item.get("type", "")
        if kind == "extra_forbidden":
            message = N_("This field cannot be set here.")
        elif kind == "missing":
            message = N_("This field is required.")
        elif kind.startswith(("int", "float", "decimal")):
            message = N_("Expected a whole number.")
        elif kind == "string_pattern_mismatch":
            message = N_("The value has the wrong form.")
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            message = N_("The value is out of range.")
        elif kind.startswith("date"):
            message = N_("Expected a date like 2027-06-30.")
        elif kind == "json_invalid":
            message = N_("The request body is not valid JSON.")
        else:
            message = N_("The value has the wrong type.")
        problems.append(FieldProblem(".".join(location) or "body", message))
    return problems


def install(app: FastAPI) -> None:
    @app.exception_handler(ShelfbridgeError)
    async def _domain_error(request: Request, exc: ShelfbridgeError) -> Response:
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> Response:
        return render_error(request, ValidationFailed(_validation_problems(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error_class = HTTP_ERRORS.get(exc.status_code)
        if error_class is not None:
            return render_error(request, error_class())
        error = ShelfbridgeError()
        error.status = exc.status_code
        error.title = N_("Request not allowed") if exc.status_code < 500 else N_("Internal error")
        error.message = error.title
        # Keep what the framework says, e.g. the Allow header of a 405.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return render_error(request, error, headers)


def allowed_methods(request: Request) -> str:
    """Every method of the path, not only those of the first route that matched it (one path
    is served by several routes, e.g. GET and POST of a list)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(route.methods or ())
    return ", ".join(sorted(methods))


__all__ = ["install", "problem_body", "render_error", "ImportRejected"]

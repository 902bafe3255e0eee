"""The import page: upload a CSV, XLSX or JSONL file of one kind and read the report.

An import is all-or-nothing (see docs/import-format.md): the report either counts what was
created, updated and left unchanged, or lists every problem by row, column and reason.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from shelfbridge.core.database import Database
from shelfbridge.core.errors import ImportRejected, ShelfbridgeError
from shelfbridge.core.i18n import N_, gettext, translate
from shelfbridge.registry.importing import FORMATS, import_file
from shelfbridge.registry.pages.common import is_htmx, render
from shelfbridge.registry.pages.kinds import PAGES
from shelfbridge.registry.specs import SPECS

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 1000
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ProblemRow:
    row: int | None
    column: str
    reason: str


@dataclass
class Outcome:
    """What the page says after an upload."""

    kind: str
    filename: str
    report: Any = None  # ImportReport on success
    problems: list[ProblemRow] = field(default_factory=list)
    problem_count: int = 0
    rows_checked: int = 0
    message: str | None = None  # a refusal not tied to rows (no file, wrong type, …)

    @property
    def ok(self) -> bool:
        return self.report is not None


class TooLarge(Exception):
    pass


def _save(upload: UploadFile, target: Path) -> None:
    written = 0
    with target.open("wb") as handle:
        while chunk := upload.file.read(CHUNK):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise TooLarge
            handle.write(chunk)


def _kinds() -> list[tuple[str, str, list[tuple[str, bool]]]]:
    """(kind, title, [(column, required)]) in the order files are best imported."""
    return [
        (kind, gettext(PAGES[kind].title), [(f.name, f.required) for f in spec.fields])
        for kind, spec in SPECS.items()
    ]


def _chosen(kind: str) -> str:
    return kind if kind in SPECS else next(iter(SPECS))


def run_import(database: Database, kind: str, upload: UploadFile | None) -> Outcome:
    filename = PurePath(upload.filename or "").name if upload is not None else ""
    outcome = Outcome(kind=kind, filename=filename)
    if kind not in SPECS:
        outcome.message = gettext(N_("Choose what the file holds."))
        return outcome
    if upload is None or not filename:
        outcome.message = gettext(N_("Choose a file to import."))
        return outcome
    file_format = FORMATS.get(PurePath(filename).suffix.lower())
    if file_format is None:
        outcome.message = gettext(
            N_("“{name}” is not a .csv, .xlsx or .jsonl file; save it in one of these formats."),
            name=filename,
        )
        return outcome

    with tempfile.TemporaryDirectory(prefix="shelfbridge-import-") as folder:
        path = Path(folder) / f"upload.{file_format}"
        try:
            _save(upload, path)
        except TooLarge:
            outcome.message = gettext(
                N_("The file is larger than {size} MB; split it into smaller files."),
                size=MAX_UPLOAD_BYTES // (1024 * 1024),
            )
            return outcome
        try:
            outcome.report = import_file(database, kind, path, file_format=file_format)
        except ImportRejected as rejected:
            problems = sorted(rejected.problems, key=lambda p: (p.row or 0, p.field))
            outcome.problem_count = len(problems)
            outcome.rows_checked = rejected.rows_checked
            outcome.problems = [
                ProblemRow(p.row, p.field, p.render(translate))
                for p in problems[:MAX_PROBLEMS_SHOWN]
            ]
            outcome.message = rejected.render(translate)
        except ShelfbridgeError as error:
            outcome.message = error.render(translate)
    return outcome


def build_router() -> APIRouter:
    router = APIRouter()

    @router.get("/import", response_class=HTMLResponse, name="page_import")
    def import_form(request: Request) -> HTMLResponse:
        context = {"kinds": _kinds(), "kind": _chosen(request.query_params.get("kind", ""))}
        return render(request, "registry/import.html", context)

    @router.post("/import", response_class=HTMLResponse, name="page_import_file")
    def import_upload(
        request: Request,
        kind: Annotated[str, Form()] = "",
        file: Annotated[UploadFile | None, File()] = None,
    ) -> HTMLResponse:
        outcome = run_import(request.app.state.database, kind, file)
        status = 200 if outcome.ok else 422
        context = {
            "kinds": _kinds(),
            "kind": _chosen(kind),
            "outcome": outcome,
            "max_shown": MAX_PROBLEMS_SHOWN,
        }
        template = "registry/_import_report.html" if is_htmx(request) else "registry/import.html"
        return render(request, template, context, status_code=status)

    return router


__all__ = ["build_router", "run_import"]

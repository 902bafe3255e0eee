"""``shelfbridge import``, ``export`` and ``demo load``: registry records in and out of files.

Each command calls the same functions as the web import page
(:mod:`shelfbridge.registry.importing`). Exit codes: 0 done, 1 the file was rejected (every
problem is listed on standard error, nothing was written), 2 a usage error (unknown kind or
file type, missing file or folder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.engine import make_url

import shelfbridge
from shelfbridge.accounts.actor import current_actor as accounts_actor
from shelfbridge.cli import match_commands
from shelfbridge.cli.common import DbOption, LangOption, fail, migrate, open_database
from shelfbridge.core.database import Database
from shelfbridge.core.errors import BadRequest, FieldProblem, ImportRejected, NotFound
from shelfbridge.core.i18n import N_, translate
from shelfbridge.core.i18n import gettext as _
from shelfbridge.registry.importing import KINDS, ImportReport, export_file, import_file

demo_app = typer.Typer(help="Demo data commands.", no_args_is_help=True)

KindArgument = Annotated[
    str,
    typer.Argument(
        help="What the file holds: organizations, people, results or demands.",
        show_default=False,
    ),
]
PHASES = {
    "check": N_("Checking rows"),
    "write": N_("Writing records"),
    "export": N_("Exporting records"),
}
#: the demo files, in the order their references need
DEMO_KINDS = ("organizations", "people", "results", "demands")


def default_demo_folder() -> Path:
    """``datasets/demo`` of the repository (the package is installed from ``src/``)."""
    return Path(shelfbridge.__file__).resolve().parents[2] / "datasets" / "demo"


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress callback that draws one bar per phase on standard error (on a terminal;
    elsewhere, such as in logs, it stays quiet)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda phase, done, total: None
        return
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:

        def update(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_(PHASES.get(phase, phase)), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def problem_line(problem: FieldProblem) -> str:
    """One problem as a line: where (row, column) and why, in the current language."""
    reason = problem.render(translate)
    if problem.row is not None and problem.field:
        return _(
            "Row {row}, column {column}: {reason}",
            row=problem.row,
            column=problem.field,
            reason=reason,
        )
    if problem.row is not None:
        return _("Row {row}: {reason}", row=problem.row, reason=reason)
    if problem.field:
        return _("Column {column}: {reason}", column=problem.field, reason=reason)
    return _("File: {reason}", reason=reason)


def _report_line(report: ImportReport) -> str:
    return _(
        "{kind}: {rows} rows — {created} created, {updated} updated, {unchanged} unchanged.",
        kind=report.kind,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
    )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise fail(
            _("Unknown kind “{kind}”: use one of {kinds}.", kind=kind, kinds=", ".join(KINDS)), 2
        )


def _import(database: Database, kind: str, path: Path) -> ImportReport:
    """Import one file; on rejection list every problem and exit 1."""
    try:
        with progress_bar() as progress:
            report = import_file(database, kind, path, progress=progress)
    except ImportRejected as error:
        typer.secho(f"{path}: {error.render(translate)}", err=True, fg=typer.colors.RED)
        for problem in error.problems:
            typer.echo(f"  {problem_line(problem)}", err=True)
        raise typer.Exit(1) from None
    except BadRequest as error:
        raise fail(error.render(translate), 2) from None
    typer.echo(_report_line(report))
    return report


def import_command(
    kind: KindArgument,
    file: Annotated[Path, typer.Argument(help="A .csv, .xlsx or .jsonl file.", show_default=False)],
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Import records from a CSV, XLSX or JSONL file (all-or-nothing).

    Every row is checked first; when any row has a problem, every problem is listed (row,
    column, reason) and nothing is written. Re-importing the same file changes nothing.
    """
    settings, database = open_database(db, lang)
    try:
        _check_kind(kind)
        if not file.is_file():
            raise fail(_("The file {path} does not exist.", path=str(file)), 2)
        # A built match index follows the import (nothing is loaded unless one is built).
        match_commands.attach(settings, database)
        _import(database, kind, file)
    finally:
        match_commands.close_runtime(database)
        database.dispose()


def export_command(
    kind: KindArgument,
    file: Annotated[
        Path,
        typer.Argument(help="The file to write: .csv, .xlsx or .jsonl.", show_default=False),
    ],
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="USERNAME",
            help="Export what this user may see: only the records visible to them, with the "
            "fields hidden from them (contributor shares, budgets) left empty. Without it the "
            "export is the platform's own, complete.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Export records to a CSV, XLSX or JSONL file, in the format import takes back.

    With --as USERNAME the export obeys that user's visibility, as the pages and the API do;
    without it, the command runs as the platform and exports every record whole.
    """
    _settings, database = open_database(db, lang)
    try:
        _check_kind(kind)
        if not file.parent.is_dir():
            raise fail(_("The folder {path} does not exist.", path=str(file.parent)), 2)
        if as_user is not None:
            act_as_user(database, as_user)
        try:
            with progress_bar() as progress:
                count = export_file(database, kind, file, progress=progress)
        except BadRequest as error:
            raise fail(error.render(translate), 2) from None
        typer.echo(_("Exported {count} {kind} to {path}.", count=count, kind=kind, path=str(file)))
        if as_user is not None:
            typer.echo(
                _(
                    "As {username}: only the records this user may see, without the fields "
                    "hidden from them.",
                    username=accounts_actor.get().username,
                )
            )
    finally:
        database.dispose()


def act_as_user(database: Database, username: str) -> None:
    """Make the rest of the command act as this (active) user, with their live memberships;
    exits 1 for an unknown or disabled user."""
    from shelfbridge.accounts import repository, service
    from shelfbridge.accounts.actor import user_actor

    with database.unit_of_work(write=False) as session:
        try:
            user = service.get_user(session, username)
        except NotFound as error:
            raise fail(error.render(translate)) from None
        if user.disabled_at is not None:
            raise fail(
                _(
                    "{username} is disabled and sees nothing; enable the account or export as "
                    "another user.",
                    username=user.username,
                )
            )
        memberships = [
            (organization.id, membership.role)
            for membership, organization in repository.live_memberships(session, user.id)
        ]
        actor = user_actor(
            user.id, user.username, user.is_platform_admin, user.person_id, memberships
        )
    accounts_actor.set(actor)


@demo_app.command("load")
def demo_load(
    db: DbOption = None,
    lang: LangOption = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Folder holding organizations.jsonl, people.jsonl, results.jsonl and "
            "demands.jsonl (default: the repository's datasets/demo).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or upgrade the database, load the reference data and import the demo data.

    Migrations run as SHELFBRIDGE_MIGRATION_DATABASE_URL when it is set, as for ``init``.
    Running it again changes nothing.
    """
    settings, database = open_database(db, lang)
    try:
        folder = source or default_demo_folder()
        files = [folder / f"{kind}.jsonl" for kind in DEMO_KINDS]
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise fail(_("The demo files are missing: {files}", files=", ".join(missing)), 2)
        migrate(settings, database)
        if settings.demo_mode:
            # Attached before the imports, so that a built index follows them as they write.
            match_commands.attach(settings, database)
        for kind, path in zip(DEMO_KINDS, files, strict=True):
            _import(database, kind, path)
        shown = make_url(database.url).render_as_string(hide_password=True)
        typer.echo(_("Demo data loaded into {url}.", url=shown))
        # The demo accounts exist only in demo mode (make demo sets it).
        from shelfbridge.cli.ip_commands import load_ip_demo
        from shelfbridge.cli.user_commands import create_demo_accounts

        if settings.demo_mode:
            create_demo_accounts(settings, database)
            # The IP demo after the accounts: their officers request, the admin approves.
            load_ip_demo(settings, database)
            # make demo serves matches: the match index is built now, with a progress bar.
            match_commands.ensure_index(settings, database)
        else:
            load_ip_demo(settings, database)
            typer.echo(
                _(
                    "No demo accounts were created: they exist only in demo mode "
                    "(SHELFBRIDGE_DEMO_MODE=1, which make demo sets)."
                )
            )
            typer.echo(_("Build the match index with: shelfbridge index rebuild."))
    finally:
        match_commands.close_runtime(database)
        database.dispose()

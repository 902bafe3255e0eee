"""``shelfbridge index …`` and ``shelfbridge match``: the match index and matching from the
command line, through the same service as the API and the pages.

The index, the embedder and its model load on first use: ``--help`` and the other commands
never load them. The CLI builds the index in the foreground, with a progress bar; while
another process builds it, a command says so and waits for that build. Exit codes: 0 done,
1 refused or some lines of a batch were bad (each is reported), 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TextIO

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

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import SYSTEM, Actor, current_actor, user_actor
from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core.database import Database
from shelfbridge.core.errors import ShelfbridgeError, ValidationFailed
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate
from shelfbridge.core.settings import Settings
from shelfbridge.matching.building import BuildState
from shelfbridge.matching.runtime import FIT_PHASE, outdated
from shelfbridge.matching.types import Hit, Target

index_app = typer.Typer(
    help="The match index: rebuild it, see what it holds.", no_args_is_help=True
)

TARGETS = ", ".join(t.value for t in Target)
TargetOption = Annotated[
    str, typer.Option("--target", help=f"What to find: {TARGETS}.", show_default=True)
]
#: the keys a line of a --queries file may hold besides id and text
BATCH_KEYS = {
    "target",
    "top",
    "kind",
    "region",
    "cluster",
    "trl_min",
    "trl_max",
    "discipline",
    "industry",
    "org_kind",
}


def _target(value: str) -> Target:
    try:
        return Target(value)
    except ValueError:
        raise fail(
            _("Unknown target “{value}”: use one of {targets}.", value=value, targets=TARGETS), 2
        ) from None


def _refuse(error: ShelfbridgeError) -> typer.Exit:
    return fail(_error_text(error))


def _error_text(error: ShelfbridgeError) -> str:
    lines = [error.render(translate)]
    if isinstance(error, ValidationFailed):
        lines.extend(f"{p.field}: {p.render(translate)}" for p in error.problems)
    return "\n".join(lines)


def attach(settings: Settings, database: Database) -> Any:
    """The match runtime of a command's database (nothing loads until it is used)."""
    from shelfbridge.matching.service import attach_runtime

    return attach_runtime(settings, database)


_runtime = attach


def close_runtime(database: Database) -> None:
    """Close the index of a command's database, if one was opened."""
    from shelfbridge.matching.service import runtime_of

    runtime = runtime_of(database)
    if runtime is not None:
        runtime.close()


# ---------------------------------------------------------------- index rebuild / info
@contextmanager
def _progress_bar(console: Console) -> Iterator[Any]:
    """One bar per target on standard error (on a terminal; elsewhere it stays quiet)."""
    if not console.is_terminal:
        yield lambda target, done, total: None
        return
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:

        def update(target: str, done: int, total: int) -> None:
            if target not in tasks:
                if target == FIT_PHASE:
                    label = _("Learning the vocabulary of the texts")
                else:
                    label = _("Indexing {target}", target=target)
                tasks[target] = bar.add_task(label, total=total)
            bar.update(tasks[target], completed=done, total=total)

        yield update


def _waiting(state: BuildState) -> None:
    """Said once when another build holds the build lock: this command waits for it."""
    if state.pid is not None:
        message = _(
            "Another process (pid {pid}) is building the match index ({percent}%): waiting for "
            "it to finish…",
            pid=state.pid,
            percent=state.percent,
        )
    else:
        message = _("Another build of the match index is running: waiting for it to finish…")
    typer.secho(message, err=True, fg=typer.colors.YELLOW)


def rebuild_index(settings: Settings, database: Database, targets: list[Target] | None) -> None:
    """Rebuild the index with a progress bar and report records/s (also used by demo load);
    a build of another process is waited for first."""
    runtime = _runtime(settings, database)
    console = Console(stderr=True)
    try:
        with _progress_bar(console) as progress:
            report = runtime.rebuild(targets, progress=progress, on_wait=_waiting)
    except ShelfbridgeError as error:
        raise _refuse(error) from None
    for target, count in report.records.items():
        typer.echo(_("{target}: {count} records indexed.", target=target, count=count))
    seconds, rate = f"{report.seconds:.1f}", f"{report.rate:.0f}"
    typer.echo(
        _(
            "Indexed {count} records in {seconds} s ({rate} records/s).",
            count=report.total,
            seconds=seconds,
            rate=rate,
        )
    )


def ensure_index(settings: Settings, database: Database) -> None:
    """Build the index unless it is built and current (``demo load`` runs it again and again:
    its imports update a built index as they go). While another process builds it, waits for
    that build and then builds only if the index is still not current."""
    runtime = _runtime(settings, database)
    try:
        with runtime.building.hold(_waiting):
            info = runtime.read_manifest()
            current = (
                info
                and not info.get("stale")
                and not outdated(info)
                and info.get("embedder") == settings.match_embedder
                and len(info.get("targets", {})) == len(Target)
            )
            if current:
                typer.echo(_("The match index is up to date."))
                return
            rebuild_index(settings, database, None)
    except typer.Exit:
        # The data and accounts are in place; matching builds the index on first use, or
        # `shelfbridge index rebuild` does (the reason was printed above).
        typer.secho(
            _("The match index was not built: run shelfbridge index rebuild."),
            err=True,
            fg=typer.colors.YELLOW,
        )


def build_missing(runtime: Any) -> None:
    """Build what the index lacks before the first match, here, with a progress bar (a web
    request starts that build in the background instead); waits for another process's build
    first, and builds nothing that it built."""
    with _progress_bar(Console(stderr=True)) as progress:
        report = runtime.building.build_missing(progress=progress, on_wait=_waiting)
    if report is not None:
        typer.secho(
            _(
                "Built the match index: {count} records in {seconds} s.",
                count=report.total,
                seconds=f"{report.seconds:.1f}",
            ),
            err=True,
        )


@index_app.command("rebuild")
def rebuild_command(
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help=f"Rebuild only this target (repeat for several): {TARGETS}. Default: all.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Rebuild the match index from the database, with a progress bar.

    Needed after changing SHELFBRIDGE_MATCH_EMBEDDER or the index backend, and to repair an
    index that missed updates (see `shelfbridge index info`). Ends with the rate in records/s.
    """
    settings, database = open_database(db, lang)
    try:
        chosen = [_target(t) for t in target] if target else None
        rebuild_index(settings, database, chosen)
    finally:
        close_runtime(database)
        database.dispose()


@index_app.command("info")
def info_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Show the index backend, the embedder and how many records each target holds."""
    settings, database = open_database(db, lang)
    try:
        runtime = _runtime(settings, database)
        try:
            info = runtime.info()
        finally:
            runtime.close()
        if as_json:
            typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
            return
        typer.echo(_("Backend: {backend} ({location})", **info))
        typer.echo(_("Embedder: {embedder}", embedder=info["embedder"]))
        typer.echo(_("Embedders available: {names}", names=", ".join(info["embedders"]) or "—"))
        if info["embedder"] != info["configured_embedder"]:
            typer.secho(
                _(
                    "SHELFBRIDGE_MATCH_EMBEDDER is {configured}: run shelfbridge index rebuild.",
                    configured=info["configured_embedder"],
                ),
                fg=typer.colors.YELLOW,
            )
        build = info["build"]
        if build["state"] == "building":
            typer.secho(
                _(
                    "A build is running (process {pid}, {percent}%).",
                    pid=build["pid"] or "?",
                    percent=build["percent"],
                ),
                fg=typer.colors.YELLOW,
            )
        elif build["state"] == "failed":
            typer.secho(
                _("The last build failed: {error}", error=build["error"] or "?"),
                fg=typer.colors.RED,
            )
        if not info["built"]:
            typer.echo(_("The index has not been built yet: run shelfbridge index rebuild."))
        elif info["stale"]:
            typer.secho(
                _("An update of the index failed: run shelfbridge index rebuild."),
                fg=typer.colors.YELLOW,
            )
        elif info["outdated"]:
            typer.secho(
                _(
                    "The index was built by an earlier version (without the latest ranking "
                    "data): run shelfbridge index rebuild for better matches."
                ),
                fg=typer.colors.YELLOW,
            )
        for target, row in info["targets"].items():
            typer.echo(
                _(
                    "  {target}: {count} records (built {built_at})",
                    target=target,
                    count="?" if row["indexed"] is None else row["indexed"],
                    built_at=row["built_at"] or "—",
                )
            )
    finally:
        database.dispose()


# ---------------------------------------------------------------- match
def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _actor(database: Database, username: str | None) -> Actor:
    if not username:
        return SYSTEM
    from shelfbridge.accounts.repository import live_memberships, user_by_username

    with database.unit_of_work(write=False) as session:
        user = user_by_username(session, username)
        if user is None or user.disabled_at is not None:
            raise fail(_("No active user has the username “{username}”.", username=username))
        memberships = [(m.organization_id, m.role) for m, _o in live_memberships(session, user.id)]
        return user_actor(
            user.id, user.username, user.is_platform_admin, user.person_id, memberships
        )


def _hit_json(hit: Hit) -> dict[str, Any]:
    e = hit.explanation
    return {
        "external_id": hit.external_id,
        "score": round(hit.score, 6),
        "title": hit.title,
        "explanation": {
            "matched_terms": list(e.matched_terms),
            "passages": list(e.passages),
            "signals": {k: round(float(x), 6) for k, x in e.signals.items()},
            "expanded_terms": list(e.expanded_terms),
        },
    }


def _int_or_none(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(name)
    return int(value)


class _BadLine(Exception):
    pass


def _run_query(
    database: Database,
    text: str,
    target: Target,
    top: int,
    filters: dict[str, Any],
    exact: bool = False,
) -> tuple[list[Hit], list[tuple[str, str]]]:
    """The hits, and how the query's English words were read (see ``service.read_as``)."""
    from shelfbridge.matching import service

    with database.unit_of_work(write=False) as session:
        given = service.FilterInput(
            kinds=_as_list(filters.get("kind")),
            regions=_as_list(filters.get("region")),
            clusters=_as_list(filters.get("cluster")),
            trl_min=_int_or_none(filters.get("trl_min"), "trl_min"),
            trl_max=_int_or_none(filters.get("trl_max"), "trl_max"),
            disciplines=_as_list(filters.get("discipline")),
            industries=_as_list(filters.get("industry")),
            org_kinds=_as_list(filters.get("org_kind")),
        )
        resolved = service.resolve_filters(session, given, target)
        hits = service.match_text(session, text, target, filters=resolved, limit=top, exact=exact)
        return hits, service.read_as(session, text)


def _read_as_json(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"word": word, "read_as": chinese} for word, chinese in pairs]


def _print_hits(hits: list[Hit], pairs: list[tuple[str, str]]) -> None:
    if pairs:
        read = ", ".join(f"{word} → {chinese}" for word, chinese in pairs)
        typer.echo(_("English words read as: {pairs}", pairs=read))
    if not hits:
        typer.echo(_("No matches."))
        return
    for rank, hit in enumerate(hits, 1):
        typer.echo(f"{rank:>3}. {hit.score:.4f}  {hit.external_id}  {hit.title}")
        terms = ", ".join(hit.explanation.matched_terms)
        if terms:
            typer.echo("      " + _("matched: {terms}", terms=terms))


def _batch(
    database: Database,
    source: TextIO,
    defaults: dict[str, Any],
    target: Target,
    top: int,
    exact: bool = False,
) -> int:
    """Answer every line of a JSONL file; returns how many lines were bad."""
    bad = 0
    for number, raw in enumerate(source, 1):
        line = raw.strip()
        if not line:
            continue
        ident: Any = None
        try:
            try:
                query = json.loads(line)
            except ValueError:
                raise _BadLine(_("Line {line}: not valid JSON.", line=number)) from None
            if not isinstance(query, dict):
                raise _BadLine(_("Line {line}: expected a JSON object.", line=number))
            ident = query.get("id")
            text = query.get("text")
            if not isinstance(text, str) or not text.strip():
                raise _BadLine(_("Line {line}: “text” is missing or empty.", line=number))
            unknown = sorted(set(query) - BATCH_KEYS - {"id", "text", "exact"})
            if unknown:
                raise _BadLine(
                    _("Line {line}: unknown keys: {keys}.", line=number, keys=", ".join(unknown))
                )
            try:
                line_target = Target(query.get("target") or target.value)
            except ValueError:
                raise _BadLine(
                    _(
                        "Line {line}: unknown target “{value}”: use one of {targets}.",
                        line=number,
                        value=query.get("target"),
                        targets=TARGETS,
                    )
                ) from None
            line_exact = query.get("exact", exact)
            if not isinstance(line_exact, bool):
                raise _BadLine(_("Line {line}: “exact” must be true or false.", line=number))
            try:
                line_top = _int_or_none(query.get("top"), "top") or top
                filters = {**defaults, **{k: query[k] for k in BATCH_KEYS & set(query)}}
                hits, pairs = _run_query(database, text, line_target, line_top, filters, line_exact)
            except ValueError as error:
                raise _BadLine(
                    _("Line {line}: “{key}” must be a whole number.", line=number, key=str(error))
                ) from None
            except ShelfbridgeError as error:
                raise _BadLine(
                    _("Line {line}: {reason}", line=number, reason=_error_text(error))
                ) from None
        except _BadLine as problem:
            bad += 1
            message = str(problem)
            typer.secho(message, err=True, fg=typer.colors.RED)
            typer.echo(
                json.dumps({"id": ident, "line": number, "error": message}, ensure_ascii=False)
            )
            continue
        record = {
            "id": ident,
            "hits": [_hit_json(h) for h in hits],
            "read_as": _read_as_json(pairs),
        }
        typer.echo(json.dumps(record, ensure_ascii=False))
    return bad


def match_command(
    text: Annotated[
        str | None,
        typer.Argument(help="What to look for, in Chinese or English.", show_default=False),
    ] = None,
    target: TargetOption = "results",
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="How many hits.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one line per query with --queries).")
    ] = False,
    queries: Annotated[
        Path | None,
        typer.Option(
            "--queries",
            help='A JSONL file, one {"id": …, "text": …} per line (optionally with filters: '
            "target, top, kind, region, cluster, trl_min, trl_max, discipline, industry, "
            'org_kind, and "exact": true or false); - reads standard input.',
            show_default=False,
        ),
    ] = None,
    exact: Annotated[
        bool,
        typer.Option(
            "--exact",
            help="Only records that contain the text as typed: every word, and each run of "
            "Chinese characters whole. By default records are found by meaning as well.",
        ),
    ] = False,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Match with what this user may see (default: the system, which sees all).",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Kind of result or organisation (repeatable).", show_default=False),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            help="Region code: province, city or county (repeatable).", show_default=False
        ),
    ] = None,
    cluster: Annotated[
        list[str] | None,
        typer.Option(
            help="City cluster key, e.g. yangtze_river_delta (repeatable).", show_default=False
        ),
    ] = None,
    trl_min: Annotated[
        int | None, typer.Option(help="Lowest TRL (1–9).", show_default=False)
    ] = None,
    trl_max: Annotated[
        int | None, typer.Option(help="Highest TRL (1–9).", show_default=False)
    ] = None,
    discipline: Annotated[
        list[str] | None, typer.Option(help="Discipline (repeatable).", show_default=False)
    ] = None,
    industry: Annotated[
        list[str] | None,
        typer.Option(help="GB/T 4754 section letter (repeatable).", show_default=False),
    ] = None,
    org_kind: Annotated[
        list[str] | None,
        typer.Option(
            help="Kind of the owning or employing organisation (repeatable).", show_default=False
        ),
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Match free text with results, demands, people or organisations.

    With --queries FILE.jsonl --json, answers a whole file of queries after loading the model
    once and writes one JSON line per query: {"id": …, "hits": [{"external_id": …, "score": …,
    "title": …, "explanation": {…}}], "read_as": [{"word": …, "read_as": …}]} (read_as: the
    query's English words searched through their nearest Chinese corpus words). With --exact
    (or "exact": true on a line) only records that contain the text as typed are listed. A bad
    line
    gets {"id": …, "line": …, "error": …} and a message on standard error, and the command
    then exits with 1.
    """
    settings, database = open_database(db, lang)
    try:
        chosen = _target(target)
        if (text is None) == (queries is None):
            raise fail(_("Give either a TEXT to match or --queries FILE."), 2)
        if queries is not None and not as_json:
            raise fail(_("--queries writes JSON lines: add --json."), 2)
        if queries is not None and str(queries) != "-" and not queries.is_file():
            raise fail(_("The file {path} does not exist.", path=str(queries)), 2)
        actor = _actor(database, as_user)
        token = current_actor.set(actor)
        security.begin("CLI", "match")
        runtime = _runtime(settings, database)
        defaults = {
            "kind": kind,
            "region": region,
            "cluster": cluster,
            "trl_min": trl_min,
            "trl_max": trl_max,
            "discipline": discipline,
            "industry": industry,
            "org_kind": org_kind,
        }
        try:
            try:
                build_missing(runtime)
            except ShelfbridgeError as error:
                raise _refuse(error) from None
            if queries is not None:
                if str(queries) == "-":
                    bad = _batch(database, sys.stdin, defaults, chosen, top, exact)
                else:
                    with queries.open(encoding="utf-8") as source:
                        bad = _batch(database, source, defaults, chosen, top, exact)
                if bad:
                    raise typer.Exit(1)
                return
            assert text is not None
            try:
                hits, pairs = _run_query(database, text, chosen, top, defaults, exact)
            except ShelfbridgeError as error:
                raise _refuse(error) from None
            if as_json:
                payload = {
                    "query": text,
                    "target": chosen.value,
                    "hits": [_hit_json(h) for h in hits],
                    "read_as": _read_as_json(pairs),
                }
                typer.echo(json.dumps(payload, ensure_ascii=False))
            else:
                _print_hits(hits, pairs)
        finally:
            security.flush(database)
            current_actor.reset(token)
            runtime.close()
    finally:
        database.dispose()

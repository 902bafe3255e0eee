"""Pass 1 of an import: check every row, keep the checked rows in a spool.

Each row is checked with the same rules as the API (its kind's ``RecordSpec``) and for what
the row shows on its own (layout, NUL bytes, unknown columns, a missing external id). What
only the whole file can show is checked afterwards from a few keys kept per row: duplicate
external ids and credit codes, parents that the file holds (earlier or later) and loops of
parents.

A large CSV or JSONL file is checked by several processes at once: each reads the whole file
but checks only its share of the chunks (chunk ``i`` goes to share ``i % shares``) and spools
its checked rows to its own file; the write pass reads the spools back in chunk order.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

import shelfbridge
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.database import Database
from shelfbridge.core.errors import FieldProblem, ImportRejected
from shelfbridge.registry.fields import is_blank
from shelfbridge.registry.importing.readers import FileProblem, Reader, SourceRow, open_reader
from shelfbridge.registry.importing.resolver import PENDING, ImportResolver
from shelfbridge.registry.models import Organization
from shelfbridge.registry.specs import SPECS, RecordSpec

Progress = Callable[[str, int, int | None], None]
CHUNK = 2000
PARENT_REF = "_parent_external_id"  # a spooled organisation's parent, written later
#: files at least this large are checked by several processes (CSV and JSONL only)
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
PARALLEL_FORMATS = ("csv", "jsonl")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: an import allocates millions of short-lived
    containers and would otherwise spend a quarter of its time in collections. Reference
    counting still frees them; the collector resumes (if it was on) at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------------- one row
def header_problems(spec: RecordSpec, columns: list[str]) -> list[FieldProblem]:
    problems = []
    known = spec.columns
    required = ["external_id"] + [f.name for f in spec.fields if f.required]
    seen: set[str] = set()
    for name in columns:
        if not name:
            continue
        if name in seen:
            problems.append(
                FieldProblem(name, "The column “{column}” appears twice.", {"column": name}, 1)
            )
        seen.add(name)
        if name not in known:
            problems.append(_unknown_column(name, known, 1))
    for name in required:
        if name not in seen:
            problems.append(
                FieldProblem(
                    name, "The required column “{column}” is missing.", {"column": name}, 1
                )
            )
    return problems


def _unknown_column(name: str, known: list[str], row: int) -> FieldProblem:
    return FieldProblem(
        name,
        "Unknown column “{column}”. The columns are: {allowed}.",
        {"column": name, "allowed": ", ".join(known)},
        row,
    )


def clean_row(
    spec: RecordSpec, resolver: ImportResolver, row: SourceRow
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The row as clean values, with every problem the row has on its own."""
    if row.problems:
        return {}, list(row.problems)
    problems: list[FieldProblem] = []
    values = row.values
    known = spec.column_set
    if not values.keys() <= known:
        columns = spec.columns
        for name in values.keys() - known:
            problems.append(_unknown_column(name, columns, row.number))
    damaged: set[str] = set()
    for name, value in values.items():
        if isinstance(value, str) and "\x00" in value and name in known:
            damaged.add(name)
            problems.append(
                FieldProblem(
                    name,
                    "This cell contains a NUL byte; the file may be damaged. Remove it and "
                    "import again.",
                    {},
                    row.number,
                )
            )
    resolver.forward = []
    clean, field_problems = spec.clean(values, resolver)
    if field_problems:
        problems.extend(
            FieldProblem(p.field, p.message, p.params, row.number)
            for p in field_problems
            if p.field not in damaged
        )
    if is_blank(values.get("external_id")) and "external_id" not in damaged:
        problems.append(
            FieldProblem(
                "external_id",
                "Every row needs an external_id: it is how a later import finds the record.",
                {},
                row.number,
            )
        )
    return clean, problems


def credit_code_conflicts(
    session: Session, rows: list[tuple[int, dict[str, Any]]]
) -> list[FieldProblem]:
    """Credit codes of the rows that the database already gives to another organisation."""
    codes = {
        clean["credit_code"]: (number, clean) for number, clean in rows if clean.get("credit_code")
    }
    if not codes:
        return []
    problems = []
    statement = select(Organization.credit_code, Organization.external_id).where(
        Organization.credit_code.in_(list(codes))
    )
    for code, owner in session.execute(statement):
        number, clean = codes[code]
        if owner != clean["external_id"]:
            problems.append(
                FieldProblem(
                    "credit_code",
                    "The credit code {value} already belongs to organisation “{other}”.",
                    {"value": code, "other": owner},
                    number,
                )
            )
    return problems


def chunks(records: Iterable[tuple[int, Any]]) -> Iterator[list[tuple[int, Any]]]:
    """The records (see :meth:`Reader.records`) in lists of :data:`CHUNK`; when reading
    stops on a :class:`FileProblem`, the records read before it still come out (to be
    checked) before the problem is raised."""
    chunk: list[tuple[int, Any]] = []
    try:
        for record in records:
            chunk.append(record)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    except FileProblem:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


# ---------------------------------------------------------------------- one share of a file
@dataclass
class ShareResult:
    """What one checker found in its share of the chunks."""

    rows: int = 0
    problems: list[FieldProblem] = field(default_factory=list)
    # per good or bad row with an external id: (row, external id, credit code, parent)
    keys: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    # references to organisations that are not in the database: (row, external id)
    refs: list[tuple[int, str]] = field(default_factory=list)
    fatal: FieldProblem | None = None


def check_share(
    database: Database,
    kind: str,
    path: Path,
    fmt: str,
    spool: IO[bytes],
    *,
    share: int = 0,
    shares: int = 1,
    tick: Callable[[int], None] = lambda rows: None,
) -> ShareResult:
    """Check chunks ``share``, ``share + shares``, … of the file and spool their good rows."""
    spec = SPECS[kind]
    result = ShareResult()
    with database.unit_of_work(write=False) as session:
        resolver = ImportResolver(session, spec)
        try:
            with open_reader(path, fmt) as reader:
                # Every checker reads the whole file, but only parses its own chunks' rows.
                for index, chunk in enumerate(chunks(reader.records())):
                    if index % shares == share:
                        rows = _rows(reader, chunk)
                        _check_chunk(session, spec, resolver, rows, index, spool, result)
                        tick(len(chunk))
        except FileProblem as problem:
            result.fatal = problem.problem()
    return result


def _rows(reader: Reader, records: list[tuple[int, Any]]) -> list[SourceRow]:
    row = reader.row
    return [row(number, raw) for number, raw in records]


def _check_chunk(
    session: Session,
    spec: RecordSpec,
    resolver: ImportResolver,
    chunk: list[SourceRow],
    index: int,
    spool: IO[bytes],
    result: ShareResult,
) -> None:
    resolver.start_chunk()
    resolver.prefetch(row.values for row in chunk)
    good: list[tuple[int, dict[str, Any]]] = []
    keys, self_referencing = result.keys, resolver.self_referencing
    for row in chunk:
        clean, problems = clean_row(spec, resolver, row)
        external_id = clean.get("external_id")
        if external_id:
            if self_referencing:
                parent = row.values.get("parent")
                parent = parent.strip() if isinstance(parent, str) and parent.strip() else None
                keys.append((row.number, external_id, clean.get("credit_code"), parent))
                result.refs.extend((row.number, ref) for ref in resolver.forward)
                if clean.get("parent_id") == PENDING:
                    clean[PARENT_REF] = parent
            else:
                keys.append((row.number, external_id, clean.get("credit_code"), None))
        if problems:
            result.problems.extend(problems)
        else:
            good.append((row.number, clean))
    result.rows += len(chunk)
    if resolver.self_referencing:
        result.problems.extend(credit_code_conflicts(session, good))
    if not result.problems:  # once a problem is found nothing will be written
        pickle.dump((index, good), spool, protocol=pickle.HIGHEST_PROTOCOL)


# ---------------------------------------------------------------------- the whole file
def spooled_chunks(spools: list[Path]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """The checked rows, chunk by chunk in file order, from the checkers' spools."""
    handles = [path.open("rb") for path in spools]
    try:
        index = 0
        while True:
            try:
                found, rows = pickle.load(handles[index % len(handles)])
            except EOFError:
                return
            if found != index:  # pragma: no cover - the spools are written in order
                raise AssertionError(f"spooled chunk {found} where {index} was expected")
            yield rows
            index += 1
    finally:
        for handle in handles:
            handle.close()


def _parallel_shares(database: Database, path: Path, fmt: str) -> int:
    """How many processes check the file: one, unless it is large and can be read twice."""
    in_memory = database.url in ("sqlite://", "sqlite+pysqlite://") or ":memory:" in database.url
    if in_memory or fmt not in PARALLEL_FORMATS or path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _start_checker(job: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Start a checker process (see :mod:`.worker`) and hand it its job."""
    source = str(Path(shelfbridge.__file__).resolve().parents[1])
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (source, environment.get("PYTHONPATH")) if part
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "shelfbridge.registry.importing.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )
    assert child.stdin is not None
    # The job goes through a pipe, not the command line, where others could read the URL.
    child.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    child.stdin.close()
    return child


def _relay(share: int, child: subprocess.Popen[bytes], inbox: queue.Queue[Any]) -> None:
    """Pass a checker's messages on to the parent's inbox; ``eof`` when it stops."""
    assert child.stdout is not None
    try:
        while True:
            inbox.put((share, pickle.load(child.stdout)))
    except (EOFError, pickle.UnpicklingError, OSError):
        inbox.put((share, ("eof", None)))


def run_shares(
    database: Database,
    kind: str,
    path: Path,
    fmt: str,
    spools: list[Path],
    progress: Progress,
) -> list[ShareResult]:
    """Check the file in ``len(spools)`` shares: share 0 in this process, each other share
    in a checker process of its own, all at the same time."""
    shares = len(spools)
    inbox: queue.Queue[Any] = queue.Queue()
    children: list[subprocess.Popen[bytes]] = []
    relays: list[threading.Thread] = []
    results: dict[int, ShareResult] = {}
    done = 0

    def take(message: str, share: int, payload: Any) -> None:
        nonlocal done
        if message == "progress":
            done += payload
            progress("check", done, None)
        elif message == "done":
            results[share] = payload
        elif message == "failed":
            raise RuntimeError(f"an import checker process failed:\n{payload}")
        elif share not in results:
            raise RuntimeError("an import checker process ended unexpectedly")

    def tick(rows: int) -> None:
        take("progress", 0, rows)
        while not inbox.empty():  # the other checkers' news, without waiting for it
            share, (message, payload) = inbox.get_nowait()
            take(message, share, payload)

    try:
        for share in range(1, shares):
            job = {
                "url": database.url,
                "actor": current_actor.get(),
                "kind": kind,
                "path": str(path),
                "format": fmt,
                "spool": str(spools[share]),
                "share": share,
                "shares": shares,
            }
            child = _start_checker(job)
            children.append(child)
            relay = threading.Thread(target=_relay, args=(share, child, inbox), daemon=True)
            relay.start()
            relays.append(relay)
        with spools[0].open("wb") as handle:
            results[0] = check_share(
                database, kind, path, fmt, handle, share=0, shares=shares, tick=tick
            )
        while len(results) < shares:
            share, (message, payload) = inbox.get()
            take(message, share, payload)
    finally:
        for child in children:
            if len(results) < shares:  # a failure: the others' work is of no use
                child.kill()
            child.wait()
        for relay, child in zip(relays, children, strict=True):
            relay.join()
            if child.stdout is not None:
                child.stdout.close()
    return [results[share] for share in range(shares)]


def check_file(
    database: Database,
    spec: RecordSpec,
    path: Path,
    fmt: str,
    folder: Path,
    progress: Progress,
) -> tuple[int, list[Path]]:
    """Check the whole file; returns its number of rows and the spools of its checked rows.

    Raises :class:`ImportRejected` with every problem found.
    """
    progress("check", 0, None)
    try:
        with open_reader(path, fmt) as reader:
            if reader.columns is not None:
                header = header_problems(spec, reader.columns)
                if header:
                    raise ImportRejected(header, 0)
    except FileProblem as problem:
        raise ImportRejected([problem.problem()], 0) from None
    shares = _parallel_shares(database, path, fmt)
    spools = [folder / f"share-{share}.spool" for share in range(shares)]
    results = run_shares(database, spec.kind, path, fmt, spools, progress)
    rows = sum(r.rows for r in results)
    problems = [p for r in results for p in r.problems]
    fatal = next((r.fatal for r in results if r.fatal is not None), None)
    if fatal is not None:
        raise ImportRejected(_ordered([*problems, fatal]), rows)
    keys = sorted(key for r in results for key in r.keys)
    refs = [ref for r in results for ref in r.refs]
    problems.extend(_across_rows(keys))
    if spec.kind == "organizations":
        problems.extend(_missing_parents(keys, refs))
        if not problems:
            with database.unit_of_work(write=False) as session:
                problems.extend(_parent_loops(session, keys))
    if not problems and rows == 0:
        problems.append(FieldProblem("", "The file has no rows to import."))
    if problems:
        raise ImportRejected(_ordered(problems), rows)
    progress("check", rows, rows)
    return rows, spools


def _ordered(problems: list[FieldProblem]) -> list[FieldProblem]:
    return sorted(problems, key=lambda p: (p.row is not None, p.row or 0))


def _across_rows(keys: list[tuple[int, str, str | None, str | None]]) -> list[FieldProblem]:
    problems = []
    first_row: dict[str, int] = {}
    code_row: dict[str, int] = {}
    for number, external_id, code, _parent in keys:
        first = first_row.setdefault(external_id, number)
        if first != number:
            problems.append(
                FieldProblem(
                    "external_id",
                    "The external id “{value}” is already on row {first}.",
                    {"value": external_id, "first": first},
                    number,
                )
            )
        if code:
            first = code_row.setdefault(code, number)
            if first != number:
                problems.append(
                    FieldProblem(
                        "credit_code",
                        "The credit code {value} is already on row {first}.",
                        {"value": code, "first": first},
                        number,
                    )
                )
    return problems


def _missing_parents(
    keys: list[tuple[int, str, str | None, str | None]], refs: list[tuple[int, str]]
) -> list[FieldProblem]:
    in_file = {external_id for _number, external_id, _code, _parent in keys}
    return [
        FieldProblem(
            "parent", "No organisation has the external id “{value}”.", {"value": ref}, number
        )
        for number, ref in refs
        if ref not in in_file
    ]


def _parent_loops(
    session: Session, keys: list[tuple[int, str, str | None, str | None]]
) -> list[FieldProblem]:
    """Organisations whose parents would lead back to themselves once the file is written."""
    rows = {external_id: number for number, external_id, _code, _parent in keys}
    parents = {external_id: parent for _n, external_id, _c, parent in keys if parent}
    stored: dict[str, str | None] = {}

    def parent_of(external_id: str) -> str | None:
        if external_id in rows:
            return parents.get(external_id)
        if external_id not in stored:
            parent = aliased(Organization)
            stored[external_id] = session.scalar(
                select(parent.external_id)
                .join(Organization, Organization.parent_id == parent.id)
                .where(Organization.external_id == external_id)
            )
        return stored[external_id]

    problems: list[FieldProblem] = []
    state: dict[str, bool] = {}  # False while on the current path, True when done
    for start in parents:
        path: list[str] = []
        current: str | None = start
        while current is not None and current not in state:
            state[current] = False
            path.append(current)
            current = parent_of(current)
        if current is not None and state[current] is False:
            loop = path[path.index(current) :]
            chain = " → ".join([*loop, current])
            problems.extend(
                FieldProblem(
                    "parent",
                    "An organisation cannot be its own parent, directly or through others: "
                    "{chain}.",
                    {"chain": chain},
                    rows[member],
                )
                for member in loop
                if member in rows
            )
        for member in path:
            state[member] = True
    return problems

"""Pass 1 of an import: check every row, keep the checked rows in a spool.

Each row is checked with the same rules as the API (its kind's ``RecordSpec``) and for what
the row shows on its own (layout, NUL bytes, unknown columns, a missing external id). What
only the whole file can show is checked afterwards from a few keys kept per row: duplicate
external ids and credit codes, parents that the file holds (earlier or later) and loops of
parents.

A large CSV or JSONL file is checked by two processes at once: this one reads the file and
hands chunks of raw records to a helper process whenever the helper is ready for more,
checking the others itself (see :class:`_Helper`); each spools its checked chunks to its own
file, and the write pass reads the spools back in chunk order.
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
from contextlib import contextmanager, suppress
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
from shelfbridge.registry.importing.readers import FileProblem, RowMaker, SourceRow, open_reader
from shelfbridge.registry.importing.resolver import PENDING, ImportResolver
from shelfbridge.registry.models import Organization
from shelfbridge.registry.specs import SPECS, RecordSpec

Progress = Callable[[str, int, int | None], None]
CHUNK = 2000
PARENT_REF = "_parent_external_id"  # a spooled organisation's parent, written later
#: files at least this large are checked by two processes (CSV and JSONL only)
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
PARALLEL_FORMATS = ("csv", "jsonl")
#: chunks handed to the second checker and not yet checked, at most
HELPER_BACKLOG = 2


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


# ---------------------------------------------------------------------- one checker
@dataclass
class ShareResult:
    """What one checker found in the chunks it checked."""

    rows: int = 0
    problems: list[FieldProblem] = field(default_factory=list)
    # per good or bad row with an external id: (row, external id, credit code, parent)
    keys: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    # references to organisations that are not in the database: (row, external id)
    refs: list[tuple[int, str]] = field(default_factory=list)
    fatal: FieldProblem | None = None


class Checker:
    """Checks chunks of raw records of one file in this process and spools the good rows of
    each chunk, with the chunk's index, in the order it gets them."""

    def __init__(
        self, session: Session, spec: RecordSpec, maker: RowMaker, spool: IO[bytes]
    ) -> None:
        self.session = session
        self.spec = spec
        self.maker = maker
        self.spool = spool
        self.resolver = ImportResolver(session, spec)
        self.result = ShareResult()

    def check(self, index: int, records: list[tuple[int, Any]]) -> None:
        make = self.maker
        rows = [make(number, raw) for number, raw in records]
        _check_chunk(self.session, self.spec, self.resolver, rows, index, self.spool, self.result)


def check_stream(
    database: Database,
    kind: str,
    maker: RowMaker,
    spool: IO[bytes],
    incoming: Iterable[tuple[int, list[tuple[int, Any]]]],
    tick: Callable[[int], None] = lambda rows: None,
) -> ShareResult:
    """Check chunks given as (index, records) as they come: the helper's work."""
    with database.unit_of_work(write=False) as session:
        checker = Checker(session, SPECS[kind], maker, spool)
        for index, records in incoming:
            checker.check(index, records)
            tick(len(records))
    return checker.result


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
    """The checked rows, chunk by chunk in file order, from the checkers' spools (each holds
    its chunks in file order, so the next chunk is always at the head of one of them)."""
    handles = [path.open("rb") for path in spools]

    def next_of(handle: IO[bytes]) -> tuple[int, list[tuple[int, dict[str, Any]]]] | None:
        try:
            found: tuple[int, list[tuple[int, dict[str, Any]]]] = pickle.load(handle)
        except EOFError:
            return None
        return found

    try:
        heads = [next_of(handle) for handle in handles]
        index = 0
        while True:
            share = next(
                (n for n, head in enumerate(heads) if head is not None and head[0] == index), None
            )
            if share is None:
                if any(head is not None for head in heads):  # pragma: no cover - see above
                    raise AssertionError(f"spooled chunk {index} is missing")
                return
            rows = heads[share][1]  # type: ignore[index]
            heads[share] = next_of(handles[share])
            yield rows
            index += 1
    finally:
        for handle in handles:
            handle.close()


def _parallel(database: Database, path: Path, fmt: str) -> bool:
    """Whether a second process helps check the file: when it is large and can be read as
    records that another process can check (CSV, JSONL), and a second CPU exists."""
    in_memory = database.url in ("sqlite://", "sqlite+pysqlite://") or ":memory:" in database.url
    if in_memory or fmt not in PARALLEL_FORMATS or path.stat().st_size < PARALLEL_MIN_BYTES:
        return False
    return (os.cpu_count() or 1) > 1


class _Helper:
    """A second checker process (see :mod:`.worker`) and the threads that talk to it.

    This process reads the file; once the helper has started, it hands a chunk of raw records
    to the helper whenever the helper has fewer than :data:`HELPER_BACKLOG` chunks waiting, and
    checks the chunk itself otherwise. So the two share the work by how fast each is (a helper
    that gets little CPU, or a file that is checked before the helper has started, gets few
    chunks or none), the file is read and parsed once, and at most a few chunks are in flight.
    Messages go as pickles: the job, then ``("chunk", index, records)`` … ``("end",)`` on the
    helper's standard input; ``("ready", None)``, ``("progress", rows)`` after each chunk, then
    ``("done", ShareResult)`` or ``("failed", traceback)`` on its standard output.
    """

    def __init__(self, job: dict[str, Any]) -> None:
        source = str(Path(shelfbridge.__file__).resolve().parents[1])
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (source, environment.get("PYTHONPATH")) if part
        )
        self.child = subprocess.Popen(
            [sys.executable, "-m", "shelfbridge.registry.importing.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        self.ready = False
        self.sent = 0  # chunks handed over
        self.backlog = 0  # of which not yet checked
        self.result: ShareResult | None = None
        self.outbox: queue.Queue[bytes | None] = queue.Queue()
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.feeder_error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._feed, daemon=True),
            threading.Thread(target=self._relay, daemon=True),
        ]
        for thread in self.threads:
            thread.start()
        # The job goes through the pipe, not the command line, where others could read the URL.
        self.outbox.put(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))

    def _feed(self) -> None:
        """Write the outbox to the helper's standard input; ``None`` closes it."""
        stdin = self.child.stdin
        assert stdin is not None
        try:
            while (data := self.outbox.get()) is not None:
                stdin.write(data)
                stdin.flush()
        except BaseException as error:  # a helper that died: the relay reports it
            self.feeder_error = error
        finally:
            with suppress(OSError):
                stdin.close()

    def _relay(self) -> None:
        """Pass the helper's messages to the inbox; ``eof`` when it stops."""
        assert self.child.stdout is not None
        try:
            while True:
                self.inbox.put(pickle.load(self.child.stdout))
        except (EOFError, pickle.UnpicklingError, OSError):
            self.inbox.put(("eof", None))

    def offer(self, index: int, records: list[tuple[int, Any]]) -> bool:
        """Hand the chunk to the helper if it has room for it."""
        if not self.ready or self.backlog >= HELPER_BACKLOG:
            return False
        self.outbox.put(pickle.dumps(("chunk", index, records), protocol=pickle.HIGHEST_PROTOCOL))
        self.sent += 1
        self.backlog += 1
        return True

    def take(self, message: tuple[str, Any], progress: Callable[[int], None]) -> None:
        kind, payload = message
        if kind == "ready":
            self.ready = True
        elif kind == "progress":
            self.backlog -= 1
            progress(payload)
        elif kind == "done":
            self.result = payload
        elif kind == "failed":
            raise RuntimeError(f"an import checker process failed:\n{payload}")
        elif self.result is None:
            raise RuntimeError("an import checker process ended unexpectedly")

    def poll(self, progress: Callable[[int], None]) -> None:
        """Take the helper's news, without waiting for it."""
        while not self.inbox.empty():
            self.take(self.inbox.get_nowait(), progress)

    def finish(self, progress: Callable[[int], None]) -> ShareResult | None:
        """Tell the helper that no more chunks come and wait for its result; None (and the
        helper is stopped) when it got none."""
        if not self.sent:
            return None
        self.outbox.put(pickle.dumps(("end",), protocol=pickle.HIGHEST_PROTOCOL))
        self.outbox.put(None)
        while self.result is None:
            self.take(self.inbox.get(), progress)
        return self.result

    def close(self) -> None:
        if self.result is None:  # a failure, or a helper that got no chunk
            self.child.kill()
        self.outbox.put(None)
        self.child.wait()
        for thread in self.threads:
            thread.join()
        if self.child.stdout is not None:
            self.child.stdout.close()


def run_check(
    database: Database,
    spec: RecordSpec,
    path: Path,
    fmt: str,
    folder: Path,
    progress: Progress,
) -> tuple[list[ShareResult], list[Path]]:
    """Check the whole file: the results of this process and of the helper (if any), and the
    spools of their checked rows."""
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        progress("check", done, None)

    spools = [folder / "share-0.spool"]
    helper: _Helper | None = None
    results: list[ShareResult] = []
    try:
        with database.unit_of_work(write=False) as session, spools[0].open("wb") as spool:
            checker: Checker | None = None
            fatal: FieldProblem | None = None
            try:
                with open_reader(path, fmt) as reader:
                    if _parallel(database, path, fmt):
                        spools.append(folder / "share-1.spool")
                        helper = _Helper(
                            {
                                "url": database.url,
                                "actor": current_actor.get(),
                                "kind": spec.kind,
                                "maker": reader.maker,
                                "spool": str(spools[1]),
                            }
                        )
                    checker = Checker(session, spec, reader.maker, spool)
                    for index, records in enumerate(chunks(reader.records())):
                        if helper is None or not helper.offer(index, records):
                            checker.check(index, records)
                            advance(len(records))
                        if helper is not None:
                            helper.poll(advance)
            except FileProblem as problem:
                fatal = problem.problem()
            results.append(checker.result if checker is not None else ShareResult())
            results[0].fatal = fatal
        if helper is not None:
            helped = helper.finish(advance)
            if helped is None:
                spools.pop()
            else:
                results.append(helped)
    finally:
        if helper is not None:
            helper.close()
    return results, spools


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
    results, spools = run_check(database, spec, path, fmt, folder, progress)
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

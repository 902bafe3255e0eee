"""All-or-nothing imports: check every row, then write them all in one transaction.

Pass 1 streams the file and checks each row with the same rules as the API (the kind's
:class:`~shelfbridge.registry.specs.RecordSpec`), plus what only a whole file can show:
duplicate external ids, duplicate credit codes, parents that the file itself holds (earlier or
later) and loops of parents. It collects every problem, and keeps the checked rows in a
temporary file (a spool) rather than in memory. Pass 2 runs only when there is no problem:
it writes the spooled rows chunk by chunk inside one write transaction, so that a failure
anywhere leaves the database as it was. Pass 2 checks again what another writer could have
changed in between (credit codes; references are held by foreign keys).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from shelfbridge.core.database import Database
from shelfbridge.core.errors import BadRequest, FieldProblem, ImportRejected
from shelfbridge.registry.fields import is_blank
from shelfbridge.registry.importing.readers import (
    FileProblem,
    SourceRow,
    detect_format,
    open_reader,
)
from shelfbridge.registry.importing.resolver import PENDING, ImportResolver
from shelfbridge.registry.importing.writer import RecordWriter
from shelfbridge.registry.models import Organization
from shelfbridge.registry.specs import SPECS, RecordSpec

Progress = Callable[[str, int, int | None], None]
CHUNK = 2000
SQLITE_CACHE_KIB = 65536
PARENT_REF = "_parent_external_id"  # a spooled organisation's parent, written later
KINDS = tuple(SPECS)


@dataclass(frozen=True)
class ImportReport:
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int


def spec_for(kind: str) -> RecordSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise BadRequest(
            "Unknown kind “{kind}”: use one of {kinds}.", kind=kind, kinds=", ".join(KINDS)
        ) from None


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


def import_file(
    database: Database,
    kind: str,
    path: Path,
    *,
    file_format: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file of one kind, all or nothing.

    Raises :class:`~shelfbridge.core.errors.ImportRejected` naming every problem (row,
    column, message id) when any row is not good, and then writes nothing;
    :class:`~shelfbridge.core.errors.BadRequest` for an unknown kind, file type or a missing
    file.
    """
    spec = spec_for(kind)
    fmt = detect_format(path, file_format)
    if not path.is_file():
        raise BadRequest("The file {path} does not exist.", path=str(path))
    report = progress or _no_progress
    with tempfile.TemporaryFile() as handle:
        spool = _Spool(handle)
        with database.unit_of_work(write=False) as session:
            rows = _check_file(session, spec, path, fmt, spool, report)
        try:
            with database.unit_of_work() as session:
                _tune_for_bulk(session)
                return _write_spool(session, spec, spool, rows, report)
        except IntegrityError:
            # A record the file refers to was removed between the passes; the transaction
            # rolled back, so nothing was written.
            raise ImportRejected(
                [
                    FieldProblem(
                        "",
                        "The database changed while the file was being imported. Nothing was "
                        "imported; import the file again.",
                    )
                ],
                rows,
            ) from None


def _tune_for_bulk(session: Session) -> None:
    """SQLite: a larger page cache for this connection keeps big writes out of the WAL."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))


# ---------------------------------------------------------------------- one row
def _header_problems(spec: RecordSpec, columns: list[str]) -> list[FieldProblem]:
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


def _clean_row(
    spec: RecordSpec, resolver: ImportResolver, row: SourceRow
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The row as clean values, with every problem the row has on its own."""
    problems = list(row.problems)
    if problems:
        return {}, problems
    known = spec.columns
    damaged: set[str] = set()
    for name in row.values.keys() - known:
        problems.append(_unknown_column(name, known, row.number))
    for name, value in row.values.items():
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
    clean, field_problems = spec.clean(row.values, resolver)
    problems.extend(
        FieldProblem(p.field, p.message, p.params, row.number)
        for p in field_problems
        if p.field not in damaged
    )
    if is_blank(row.values.get("external_id")) and "external_id" not in damaged:
        problems.append(
            FieldProblem(
                "external_id",
                "Every row needs an external_id: it is how a later import finds the record.",
                {},
                row.number,
            )
        )
    return clean, problems


def _credit_code_conflicts(
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


def _chunks(rows: Iterable[SourceRow]) -> Iterator[list[SourceRow]]:
    chunk: list[SourceRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------- the spool
class _Spool:
    """Checked rows, kept on disk between the passes so that memory stays bounded."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._file = handle

    def add(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        pickle.dump(rows, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def chunks(self) -> Iterator[list[tuple[int, dict[str, Any]]]]:
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)
            except EOFError:
                return


# ---------------------------------------------------------------------- pass 1: check
class _Checker:
    def __init__(self, session: Session, spec: RecordSpec, spool: _Spool) -> None:
        self.session = session
        self.spec = spec
        self.spool = spool
        self.resolver = ImportResolver(session, spec)
        self.problems: list[FieldProblem] = []
        self.rows = 0
        self.first_row: dict[str, int] = {}  # external id → its row
        self.credit_codes: dict[str, int] = {}  # credit code → its row
        self.parents: dict[str, str] = {}  # organisations: external id → parent's
        self.forward: list[tuple[int, str]] = []  # (row, parent) not seen yet

    def chunk(self, chunk: list[SourceRow]) -> None:
        self.resolver.start_chunk()
        self.resolver.prefetch(row.values for row in chunk)
        good: list[tuple[int, dict[str, Any]]] = []
        for row in chunk:
            self.rows += 1
            clean, problems = _clean_row(self.spec, self.resolver, row)
            problems.extend(self._across_rows(row, clean))
            self.problems.extend(problems)
            if not problems:
                good.append((row.number, clean))
        if self.resolver.self_referencing:
            self.problems.extend(_credit_code_conflicts(self.session, good))
        if not self.problems:  # once a problem is found nothing will be written
            self.spool.add(good)

    def _across_rows(self, row: SourceRow, clean: dict[str, Any]) -> list[FieldProblem]:
        problems = []
        external_id = clean.get("external_id")
        if external_id:
            first = self.first_row.setdefault(external_id, row.number)
            if first != row.number:
                problems.append(
                    FieldProblem(
                        "external_id",
                        "The external id “{value}” is already on row {first}.",
                        {"value": external_id, "first": first},
                        row.number,
                    )
                )
        code = clean.get("credit_code")
        if code:
            first = self.credit_codes.setdefault(code, row.number)
            if first != row.number:
                problems.append(
                    FieldProblem(
                        "credit_code",
                        "The credit code {value} is already on row {first}.",
                        {"value": code, "first": first},
                        row.number,
                    )
                )
        if self.resolver.self_referencing and external_id:
            parent = row.values.get("parent")
            if isinstance(parent, str) and parent.strip():
                self.parents[external_id] = parent.strip()
            if clean.get("parent_id") == PENDING:
                clean[PARENT_REF] = self.parents[external_id]
            for ref in self.resolver.forward:
                if ref not in self.first_row:
                    self.forward.append((row.number, ref))
        return problems

    def finish(self) -> None:
        for number, ref in self.forward:
            if ref not in self.first_row:
                self.problems.append(
                    FieldProblem(
                        "parent",
                        "No organisation has the external id “{value}”.",
                        {"value": ref},
                        number,
                    )
                )
        if self.resolver.self_referencing and not self.problems:
            self.problems.extend(_parent_loops(self.session, self.parents, self.first_row))


def _parent_loops(
    session: Session, parents: dict[str, str], rows: dict[str, int]
) -> list[FieldProblem]:
    """Organisations whose parents would lead back to themselves once the file is written."""
    stored: dict[str, str | None] = {}

    def parent_of(external_id: str) -> str | None:
        if external_id in parents:
            return parents[external_id]
        if external_id in rows:  # in the file, without a parent
            return None
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
    return sorted(problems, key=lambda p: p.row or 0)


def _check_file(
    session: Session, spec: RecordSpec, path: Path, fmt: str, spool: _Spool, progress: Progress
) -> int:
    checker = _Checker(session, spec, spool)
    progress("check", 0, None)
    try:
        with open_reader(path, fmt) as reader:
            if reader.columns is not None:
                header = _header_problems(spec, reader.columns)
                if header:
                    raise ImportRejected(header, 0)
            for chunk in _chunks(reader.rows()):
                checker.chunk(chunk)
                progress("check", checker.rows, None)
    except FileProblem as problem:
        checker.problems.append(problem.problem())
        raise ImportRejected(checker.problems, checker.rows) from None
    checker.finish()
    if not checker.problems and checker.rows == 0:
        checker.problems.append(FieldProblem("", "The file has no rows to import."))
    if checker.problems:
        raise ImportRejected(checker.problems, checker.rows)
    progress("check", checker.rows, checker.rows)
    return checker.rows


# ---------------------------------------------------------------------- pass 2: write
def _write_spool(
    session: Session, spec: RecordSpec, spool: _Spool, total: int, progress: Progress
) -> ImportReport:
    resolver = ImportResolver(session, spec, forward=False)
    writer = RecordWriter(session, spec, resolver)
    done = 0
    progress("write", 0, total)

    def write(ready: list[tuple[int, dict[str, Any]]]) -> None:
        nonlocal done
        if resolver.self_referencing:
            conflicts = _credit_code_conflicts(session, ready)
            if conflicts:  # written since pass 1: nothing is kept
                raise ImportRejected(conflicts, total)
        writer.write([clean for _number, clean in ready])
        done += len(ready)
        progress("write", done, total)

    def with_parent(clean: dict[str, Any]) -> dict[str, Any] | None:
        """The row with its parent's id, once the parent is written; else None."""
        found = resolver.organization(clean[PARENT_REF])
        return None if found is None else {**clean, "parent_id": found[0]}

    # Organisations whose parent comes later in the file wait for it.
    waiting: list[tuple[int, dict[str, Any]]] = []
    for chunk in spool.chunks():
        ready: list[tuple[int, dict[str, Any]]] = []
        for number, clean in chunk:
            if clean.get("parent_id") == PENDING:
                if ready:  # the parent may be among them
                    write(ready)
                    ready = []
                resolved = with_parent(clean)
                if resolved is None:
                    waiting.append((number, clean))
                    continue
                clean = resolved
            ready.append((number, clean))
        write(ready)
    while waiting:
        ready, later = [], []
        for number, clean in waiting:
            resolved = with_parent(clean)
            if resolved is None:
                later.append((number, clean))
            else:
                ready.append((number, resolved))
        if not ready:  # pragma: no cover - pass 1 ruled out loops and missing parents
            raise AssertionError("organisations wait for parents that never come")
        write(ready)
        waiting = later
    return ImportReport(spec.kind, total, writer.created, writer.updated, writer.unchanged)

"""All-or-nothing imports: check every row, then write them all in one transaction.

Pass 1 (:mod:`.checking`) streams the file, checks every row with the same rules as the API
and collects every problem; the checked rows go to temporary spool files rather than memory.
Pass 2 runs only when there is no problem: it writes the spooled rows chunk by chunk inside
one write transaction, so that a failure anywhere leaves the database as it was. Pass 2
checks again what another writer could have changed in between (credit codes; references
are held by foreign keys).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelfbridge.core.database import Database
from shelfbridge.core.errors import BadRequest, FieldProblem, ImportRejected
from shelfbridge.matching import sync as match_sync
from shelfbridge.registry.importing.checking import (
    PARENT_REF,
    Progress,
    check_file,
    collector_paused,
    credit_code_conflicts,
    spooled_chunks,
)
from shelfbridge.registry.importing.readers import detect_format
from shelfbridge.registry.importing.resolver import PENDING, ImportResolver
from shelfbridge.registry.importing.writer import RecordWriter
from shelfbridge.registry.specs import SPECS, RecordSpec

KINDS = tuple(SPECS)
SQLITE_CACHE_KIB = 65536


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
    file. ``progress(phase, done, total)`` is called with phase ``check`` (total ``None``
    until the end) and then ``write``.
    """
    spec = spec_for(kind)
    fmt = detect_format(path, file_format)
    if not path.is_file():
        raise BadRequest("The file {path} does not exist.", path=str(path))
    report = progress or _no_progress
    with collector_paused(), tempfile.TemporaryDirectory(prefix="shelfbridge-import-") as folder:
        rows, spools = check_file(database, spec, path, fmt, Path(folder), report)
        since = match_sync.audit_position(database)
        try:
            with database.unit_of_work() as session, _bulk_cache(session):
                imported = _write_spools(session, spec, spools, rows, report)
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
    if imported.created or imported.updated:
        # Core writes pass the session events by: the match index learns of them here.
        match_sync.after_bulk_write(database, since)
    return imported


@contextmanager
def _bulk_cache(session: Session) -> Iterator[None]:
    """SQLite: a larger page cache while this connection writes the import (fewer pages
    spill to the WAL before the commit); the pooled connection gets its own size back."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    previous = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(previous or -2000)}"))


def _write_spools(
    session: Session, spec: RecordSpec, spools: list[Path], total: int, progress: Progress
) -> ImportReport:
    resolver = ImportResolver(session, spec, forward=False)
    writer = RecordWriter(session, spec, resolver)
    done = 0
    progress("write", 0, total)

    def write(ready: list[tuple[int, dict[str, Any]]]) -> None:
        nonlocal done
        if resolver.self_referencing:
            conflicts = credit_code_conflicts(session, ready)
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
    for chunk in spooled_chunks(spools):
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

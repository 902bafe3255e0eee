"""Exports in the import format: what ``export`` writes, ``import`` takes back unchanged.

Each record goes through its kind's ``RecordSpec.export`` (references by external id, money as
text). CSV and XLSX cells are text: lists joined with ``;``, contributors as
``name@person:share``. JSONL keeps lists and contributors as JSON arrays. The file is written
next to its destination and moved into place when complete.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shelfbridge.accounts.visibility import hidden_fields, visible_clause
from shelfbridge.core.database import Database
from shelfbridge.core.errors import BadRequest
from shelfbridge.registry.fields import LIST_SEPARATOR
from shelfbridge.registry.importing.checking import Progress
from shelfbridge.registry.importing.engine import spec_for
from shelfbridge.registry.importing.readers import detect_format
from shelfbridge.registry.specs import RecordSpec

_BATCH = 1000


def _contributor_text(item: dict[str, Any]) -> str:
    person = f"@{item['person']}" if item.get("person") else ""
    return f"{item['name']}{person}:{item['share']}"


def flat_cell(value: Any) -> str | None:
    """One exported value as the text of a CSV or XLSX cell (``None`` for an empty cell)."""
    if value is None:
        return None
    if isinstance(value, list):
        parts = [_contributor_text(v) if isinstance(v, dict) else str(v) for v in value]
        return LIST_SEPARATOR.join(parts) if parts else None
    return str(value)


def _records(session: Session, spec: RecordSpec) -> Iterator[dict[str, Any]]:
    """The records the current actor may see, in import form, oldest first; the fields hidden
    from the actor (contributor shares, budgets) are left empty."""
    statement = (
        select(spec.model)
        .where(visible_clause(spec.model))
        .order_by(spec.model.id)
        .execution_options(yield_per=_BATCH)
    )
    for record in session.scalars(statement):
        row = spec.export(record)
        for name in hidden_fields(record):
            row[name] = None
        yield row


class _CsvSink:
    def __init__(self, handle: IO[str], columns: list[str]) -> None:
        self._writer = csv.writer(handle, lineterminator="\r\n")
        self._columns = columns
        self._writer.writerow(columns)

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow([flat_cell(row.get(c)) or "" for c in self._columns])


class _JsonlSink:
    def __init__(self, handle: IO[str], columns: list[str]) -> None:
        self._handle = handle
        self._columns = columns

    def write(self, row: dict[str, Any]) -> None:
        ordered = {c: row.get(c) for c in self._columns}
        self._handle.write(json.dumps(ordered, ensure_ascii=False, separators=(",", ":")))
        self._handle.write("\n")


def _write_text(
    path: Path,
    fmt: str,
    columns: list[str],
    rows: Iterator[dict[str, Any]],
    tick: Callable[[], None],
) -> None:
    # Excel only recognises UTF-8 CSV by its byte-order mark; imports accept it.
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    with path.open("w", encoding=encoding, newline="") as handle:
        sink: _CsvSink | _JsonlSink = (
            _CsvSink(handle, columns) if fmt == "csv" else _JsonlSink(handle, columns)
        )
        for row in rows:
            sink.write(row)
            tick()


def _write_xlsx(
    path: Path, columns: list[str], rows: Iterator[dict[str, Any]], tick: Callable[[], None]
) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils.exceptions import IllegalCharacterError

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def text_cell(value: str | None) -> Any:
        cell = WriteOnlyCell(sheet, value=value)
        if value is not None:
            cell.data_type = "s"  # never a formula, even when the text starts with "="
        return cell

    sheet.append([text_cell(c) for c in columns])
    for row in rows:
        cells = []
        for column in columns:
            try:
                cells.append(text_cell(flat_cell(row.get(column))))
            except IllegalCharacterError:
                raise BadRequest(
                    "Record “{external_id}” has a control character in {column} that Excel "
                    "cannot store; export it as CSV or JSONL instead.",
                    external_id=row.get("external_id"),
                    column=column,
                ) from None
        sheet.append(cells)
        tick()
    book.save(path)


def export_file(
    database: Database,
    kind: str,
    path: Path,
    *,
    file_format: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Write every record of one kind to ``path``; returns how many were written."""
    spec = spec_for(kind)
    fmt = detect_format(path, file_format)
    temporary = path.with_name(f".{path.name}.part")
    written = 0
    with database.unit_of_work(write=False) as session:
        total = int(
            session.scalar(
                select(func.count()).select_from(spec.model).where(visible_clause(spec.model))
            )
            or 0
        )

        def tick() -> None:
            nonlocal written
            written += 1
            if progress is not None and (written % _BATCH == 0 or written == total):
                progress("export", written, total)

        if progress is not None:
            progress("export", 0, total)
        try:
            rows = _records(session, spec)
            if fmt == "xlsx":
                _write_xlsx(temporary, spec.columns, rows, tick)
            else:
                _write_text(temporary, fmt, spec.columns, rows, tick)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return written

"""Streaming row readers for CSV, XLSX and JSONL, with checks of encoding and layout.

A reader yields one :class:`SourceRow` at a time and never holds the whole file; or, cheaper,
each record's number and raw content (:meth:`Reader.records`: CSV cells, JSONL text), which
the reader's :class:`RowMaker` turns into a :class:`SourceRow` later, possibly in another
process (a second checker of a large file gets raw records, never the file). Row numbers
are the ones a person sees: for CSV and XLSX the header is row 1 and every record counts,
blank ones included (as a spreadsheet numbers them); for JSONL the first line is row 1.
A problem that makes the rest of the file unreadable (wrong encoding, an unclosed quote, a
damaged workbook) is raised as :class:`FileProblem`; problems confined to one row travel
with that row so that checking can go on.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from shelfbridge.core.errors import BadRequest, FieldProblem
from shelfbridge.core.i18n import N_

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl"}
UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (.xls)
_SAMPLE = 4096

SAVE_AS_UTF8 = N_(
    "The file is encoded as {encoding}, not UTF-8. In Excel choose Save As → “CSV UTF-8 "
    "(comma delimited)”; in a text editor save it with the encoding UTF-8; then import again."
)


class FileProblem(Exception):
    """A problem that stops the reading of a file; ``row`` is filled in where it is known."""

    def __init__(self, message: str, *, row: int | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.params = params

    def problem(self) -> FieldProblem:
        return FieldProblem("", self.message, self.params, self.row)


@dataclass(slots=True)
class SourceRow:
    """One record of a file: its row number, its cells by column, and layout problems."""

    number: int
    values: dict[str, Any]
    problems: list[FieldProblem] = field(default_factory=list)


def detect_format(path: Path, file_format: str | None = None) -> str:
    """``csv``, ``xlsx`` or ``jsonl``, from ``file_format`` or else the file's extension."""
    if file_format:
        wanted = file_format.lower().lstrip(".")
        if wanted in FORMATS.values():
            return wanted
        suffix = f".{wanted}"
    else:
        suffix = path.suffix.lower()
        if suffix in FORMATS:
            return FORMATS[suffix]
    raise BadRequest(
        "Unknown file type “{suffix}”: use a .csv, .xlsx or .jsonl file.",
        suffix=suffix or path.name,
    )


def _sniff(handle: IO[bytes], fmt: str) -> None:
    """Refuse encodings other than UTF-8, and workbooks named as text, from the first bytes."""
    sample = handle.read(_SAMPLE)
    handle.seek(0)
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            raise FileProblem(SAVE_AS_UTF8, encoding=encoding)
    if sample.startswith(_ZIP_MAGIC) or sample.startswith(_OLE_MAGIC):
        raise FileProblem(
            N_(
                "This is an Excel workbook, not a {format} file. Name it .xlsx (and save it as "
                "“Excel Workbook (*.xlsx)” if it is an old .xls file), or save it as CSV UTF-8."
            ),
            format=fmt.upper(),
        )
    body = sample[len(UTF8_BOM) :] if sample.startswith(UTF8_BOM) else sample
    if not body.strip():
        raise FileProblem(N_("The file is empty."))
    # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL.
    if len(body) >= 8 and body.count(0) * 4 >= len(body):
        raise FileProblem(SAVE_AS_UTF8, encoding="UTF-16")


def _decode_problem(raw: bytes, error: UnicodeDecodeError) -> FileProblem:
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if any("\u4e00" <= char <= "\u9fff" for char in text):
        return FileProblem(SAVE_AS_UTF8, encoding="GBK (GB18030)")
    return FileProblem(
        N_(
            "This row is not UTF-8 text (byte {position} of the row cannot be read). Save the "
            "file as UTF-8 and import again."
        ),
        position=error.start + 1,
    )


def _decoded_lines(handle: IO[bytes]) -> Iterator[str]:
    """The file's lines as text; UTF-8 with or without a BOM, anything else refused."""
    first = True
    for raw in handle:
        if first:
            first = False
            if raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _decode_problem(raw, error) from None


def _is_blank(cells: list[Any] | tuple[Any, ...]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


class Reader:
    """A file opened for reading rows; use as a context manager."""

    #: the header (CSV, XLSX); ``None`` where every row names its own fields (JSONL)
    columns: list[str] | None = None
    maker: RowMaker

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - every reader overrides it
        pass

    def records(self) -> Iterator[tuple[int, Any]]:  # pragma: no cover - every reader has it
        """Each record that :meth:`rows` yields, as its row number and raw content."""
        raise NotImplementedError

    def row(self, number: int, raw: Any) -> SourceRow:
        """The :class:`SourceRow` of one record from :meth:`records`."""
        return self.maker(number, raw)

    def rows(self) -> Iterator[SourceRow]:
        row = self.maker
        for number, raw in self.records():
            yield row(number, raw)


def _cells_row(
    columns: tuple[str, ...], named: bool, number: int, cells: Sequence[Any], *, strict: bool
) -> SourceRow:
    """Cells by column; ``strict`` (CSV) also wants as many cells as the header has."""
    width = len(columns)
    if len(cells) == width and named:
        return SourceRow(number, dict(zip(columns, cells, strict=True)))
    row = SourceRow(number, {})
    if strict and len(cells) != width:
        row.problems.append(
            FieldProblem(
                columns[len(cells)] if len(cells) < width else "",
                "This row has {count} cells but the header has {expected}: a cell may "
                "contain an unquoted comma, or the file may be cut off.",
                {"count": len(cells), "expected": width},
                number,
            )
        )
        return row
    for index, cell in enumerate(cells):
        name = columns[index] if index < width else ""
        if name:
            row.values[name] = cell
        elif cell is not None and (not isinstance(cell, str) or cell.strip()):
            row.problems.append(
                FieldProblem(
                    "",
                    "Cell {position} has a value but its column has no name in the header.",
                    {"position": index + 1},
                    number,
                )
            )
    return row


@dataclass(frozen=True)
class RowMaker:
    """Makes the :class:`SourceRow` of a record from :meth:`Reader.records` without the file;
    it can be pickled and sent to another process with the records."""

    fmt: str
    columns: tuple[str, ...] = ()

    def __call__(self, number: int, raw: Any) -> SourceRow:
        if self.fmt == "csv":
            return _cells_row(self.columns, self.named, number, raw, strict=True)
        if self.fmt == "jsonl":
            text, cut_off = raw
            return JsonlReader.parse(number, text, cut_off=cut_off)
        cells = [_cell_value(cell) for cell in raw]
        return _cells_row(self.columns, self.named, number, cells, strict=False)

    @cached_property
    def named(self) -> bool:
        """Whether every column of the header has a name."""
        return all(self.columns)


class _TabularReader(Reader):
    columns: list[str]


class CsvReader(_TabularReader):
    def __init__(self, path: Path) -> None:
        self._handle = path.open("rb")
        try:
            _sniff(self._handle, "csv")
            self._records = csv.reader(_decoded_lines(self._handle), strict=True)
            self._number = 0
            header = self._next()
            if header is None:
                raise FileProblem(N_("The file is empty."))
            self.columns = [cell.strip() for cell in header]
            self.maker = RowMaker("csv", tuple(self.columns))
            self._check_delimiter(header)
        except BaseException:
            self._handle.close()
            raise

    def _next(self) -> list[str] | None:
        try:
            record = next(self._records)
        except StopIteration:
            return None
        except FileProblem as problem:
            problem.row = self._number + 1
            raise
        except csv.Error:
            raise FileProblem(
                N_(
                    'A quoted cell is not closed properly (a missing or stray quote mark "), or '
                    "the file is cut off. Check the quotes on this row."
                ),
                row=self._number + 1,
            ) from None
        self._number += 1
        return record

    def _check_delimiter(self, header: list[str]) -> None:
        if len(header) != 1:
            return
        for delimiter, name in ((";", ";"), ("\t", "Tab"), ("|", "|")):
            if len(header[0].split(delimiter)) > 1:
                raise FileProblem(
                    N_(
                        "The columns are separated by “{delimiter}”, not commas. Save the file "
                        "as “CSV UTF-8 (comma delimited)” and import again."
                    ),
                    row=1,
                    delimiter=name,
                )

    def records(self) -> Iterator[tuple[int, list[str]]]:
        while (record := self._next()) is not None:
            if _is_blank(record):
                continue
            yield self._number, record

    def close(self) -> None:
        self._handle.close()


def _cell_value(value: Any) -> Any:
    """A workbook cell as import text: numbers without float noise, dates as YYYY-MM-DD."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


class XlsxReader(_TabularReader):
    def __init__(self, path: Path) -> None:
        from openpyxl import load_workbook

        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic != _ZIP_MAGIC:
            raise FileProblem(_NOT_A_WORKBOOK)
        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds of error for damaged files
            raise FileProblem(_NOT_A_WORKBOOK) from None
        try:
            sheet = self._book.worksheets[0]
            self._cells = sheet.iter_rows(values_only=True)
            self._number = 0
            header = self._next()
            if header is None or _is_blank(header):
                raise FileProblem(N_("The first sheet is empty."))
            self.columns = [str(_cell_value(cell) or "").strip() for cell in header]
            while self.columns and not self.columns[-1]:
                self.columns.pop()
            self.maker = RowMaker("xlsx", tuple(self.columns))
        except BaseException:
            self._book.close()
            raise

    def _next(self) -> tuple[Any, ...] | None:
        try:
            cells: tuple[Any, ...] = next(self._cells)
        except StopIteration:
            return None
        except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError, OSError):
            # SyntaxError covers the XML parser's errors in a damaged sheet.
            raise FileProblem(
                N_(
                    "The workbook is damaged and cannot be read from this row on. Open it in "
                    "Excel and save it again."
                ),
                row=self._number + 1,
            ) from None
        self._number += 1
        return cells

    def records(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        while (cells := self._next()) is not None:
            if _is_blank(cells):
                continue
            yield self._number, cells

    def close(self) -> None:
        self._book.close()


_NOT_A_WORKBOOK = N_(
    "The file is not a valid Excel workbook (.xlsx). Open it in Excel and save it as “Excel "
    "Workbook (*.xlsx)”, or save it as CSV UTF-8 and import that instead."
)


def _no_constants(name: str) -> Any:
    raise ValueError(name)


class JsonlReader(Reader):
    columns = None
    maker = RowMaker("jsonl")

    def __init__(self, path: Path) -> None:
        self._handle = path.open("rb")
        try:
            _sniff(self._handle, "jsonl")
        except BaseException:
            self._handle.close()
            raise

    def records(self) -> Iterator[tuple[int, tuple[str, bool]]]:
        """Each non-blank line as (its text, whether it is cut off: the last, unterminated)."""
        number = 0
        for raw in self._handle:
            number += 1
            if number == 1 and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                problem = _decode_problem(raw, error)
                problem.row = number
                raise problem from None
            if not text.strip():
                continue
            yield number, (text, not raw.endswith(b"\n"))

    @staticmethod
    def parse(number: int, text: str, *, cut_off: bool) -> SourceRow:
        try:
            value = json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
        except ValueError as error:
            if cut_off:
                message = N_("This line is cut off: the file looks truncated. Export it again.")
                params: dict[str, Any] = {}
            else:
                message = N_("This line is not valid JSON (error at character {position}).")
                params = {"position": getattr(error, "pos", 0) + 1}
            return SourceRow(number, {}, [FieldProblem("", message, params, number)])
        if not isinstance(value, dict):
            message = (
                N_("Each line must be one JSON object (in braces); this line is an array.")
                if isinstance(value, list)
                else N_(
                    "Each line must be one JSON object (in braces); this line is a single value."
                )
            )
            return SourceRow(number, {}, [FieldProblem("", message, {}, number)])
        return SourceRow(number, value)

    def close(self) -> None:
        self._handle.close()


def open_reader(path: Path, fmt: str) -> Reader:
    """Open a file for reading rows; raises :class:`FileProblem` when it cannot be read."""
    if fmt == "csv":
        return CsvReader(path)
    if fmt == "xlsx":
        return XlsxReader(path)
    return JsonlReader(path)

"""Every file of the bad-file corpus is refused, named by row and column, and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shelfbridge.core.database import Database
from shelfbridge.core.errors import ImportRejected
from shelfbridge.registry.importing import import_file
from tests.registry.importing.helpers import fingerprint, seed

CORPUS = Path(__file__).parent / "corpus"
ROW = re.compile(r"^\| (\S+) \| (\S+) \| (\S+) \| (.+) \|$")


def cases() -> list[tuple[str, int | None, str]]:
    found = []
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match and match.group(1) not in ("file", "---"):
            name, row, column = match.group(1), match.group(2), match.group(3)
            found.append((name, None if row == "—" else int(row), "" if column == "—" else column))
    return found


def test_the_corpus_has_at_least_24_files_and_lists_each_of_them() -> None:
    listed = {name for name, _row, _column in cases()}
    present = {path.name for path in CORPUS.iterdir() if path.name != "README.md"}
    assert len(listed) >= 24
    assert listed == present


@pytest.mark.parametrize(("name", "row", "column"), cases(), ids=lambda value: str(value))
def test_a_bad_file_is_rejected_naming_row_and_column_and_changes_nothing(
    database: Database,
    owner_database: Database,
    run_cli: object,
    name: str,
    row: int | None,
    column: str,
) -> None:
    seed(database)
    before = fingerprint(owner_database)
    kind = name.split("-")[0]
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, kind, CORPUS / name)
    places = [(p.row, p.field) for p in rejected.value.problems]
    assert (row, column) in places
    assert fingerprint(owner_database) == before

    result = run_cli("import", kind, str(CORPUS / name))  # type: ignore[operator]
    assert result.exit_code == 1
    where = f"Row {row}, column {column}:" if row and column else f"Row {row}:" if row else ""
    assert where in result.stderr
    assert fingerprint(owner_database) == before

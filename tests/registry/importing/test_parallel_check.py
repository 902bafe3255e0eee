"""The two-process check of a large file: the same report and the same records as one process.

``PARALLEL_MIN_BYTES = 0`` makes every CSV and JSONL file large enough for a helper process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shelfbridge.core.database import Database
from shelfbridge.core.errors import ImportRejected
from shelfbridge.registry.importing import checking, import_file
from shelfbridge.registry.models import Result
from tests.registry.importing.helpers import fingerprint, seed
from tests.registry.importing.test_corpus import CORPUS, cases
from tests.registry.importing.test_import import RESULT_COLUMNS, result_rows, write_csv

# Files whose problems come while rows are read: a cut-off quote, broken and cut-off JSON
# lines, another encoding further down, bad rows among good ones.
READING = [
    "results-truncated-quote.csv",
    "results-broken-line.jsonl",
    "results-truncated.jsonl",
    "organizations-gbk.csv",
    "results-bad-row-middle.csv",
]


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_BYTES", 0)


@pytest.mark.usefixtures("parallel")
@pytest.mark.parametrize(("name", "row", "column"), [c for c in cases() if c[0] in READING])
def test_corpus_files_are_refused_the_same_way(
    database: Database, owner_database: Database, name: str, row: int | None, column: str
) -> None:
    seed(database)
    before = fingerprint(owner_database)
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, name.split("-")[0], CORPUS / name)
    assert (row, column) in [(p.row, p.field) for p in rejected.value.problems]
    assert fingerprint(owner_database) == before


@pytest.mark.usefixtures("parallel")
def test_a_large_jsonl_file_is_checked_by_two_processes(database: Database, tmp_path: Path) -> None:
    seed(database)
    path = tmp_path / "r.jsonl"
    lines = [
        json.dumps(
            {
                "external_id": f"RES-J{n:05d}",
                "kind": "paper",
                "title": f"论文{n}",
                "keywords": ["测试", "导入"],
                "trl": n % 9 + 1,
                "contributors": [{"name": "张三", "share": "100", "person": "PER-1"}],
            },
            ensure_ascii=False,
        )
        for n in range(7000)
    ]
    lines[5500] = lines[5500].replace('"trl": ', '"trl": 1', 1)  # 1x: out of range
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, "results", path)
    assert [(p.row, p.field) for p in rejected.value.problems] == [(5501, "trl")]
    assert rejected.value.rows_checked == 7000
    lines[5500] = lines[5501].replace("J05501", "J05500")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(database, "results", path)
    assert (report.rows, report.created) == (7000, 7000)
    with database.unit_of_work(write=False) as session:
        ids = list(
            session.scalars(
                select(Result.external_id)
                .where(Result.external_id.like("RES-J%"))
                .order_by(Result.id)
            )
        )
    assert ids == [f"RES-J{n:05d}" for n in range(7000)]


@pytest.mark.usefixtures("parallel")
def test_a_helper_that_fails_fails_the_import_and_writes_nothing(
    database: Database,
    owner_database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken(checking._Helper):
        def __init__(self, job: dict[str, Any]) -> None:
            super().__init__({**job, "kind": "no-such-kind"})

        def offer(self, index: int, records: list[tuple[int, Any]]) -> bool:
            while not self.ready:  # give it a chunk to fail on
                self.take(self.inbox.get(), lambda rows: None)
            return super().offer(index, records)

    monkeypatch.setattr(checking, "_Helper", Broken)
    seed(database)
    before = fingerprint(owner_database)
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(6500))
    with pytest.raises(RuntimeError, match="checker process failed"):
        import_file(database, "results", path)
    assert fingerprint(owner_database) == before


@pytest.mark.usefixtures("parallel")
def test_the_helper_gets_chunks_only_while_it_keeps_up(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the helper has started, chunks go to it while it has room and the others are
    checked here; the spools are read back in file order either way."""
    offered: list[tuple[int, bool]] = []

    class Counting(checking._Helper):
        def offer(self, index: int, records: list[tuple[int, Any]]) -> bool:
            while not self.ready:  # wait for it, so that it gets a share
                self.take(self.inbox.get(), lambda rows: None)
            taken = super().offer(index, records)
            offered.append((index, taken))
            return taken

    monkeypatch.setattr(checking, "_Helper", Counting)
    seed(database)
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(9000))
    report = import_file(database, "results", path)
    assert report.created == 9000
    assert [index for index, _taken in offered] == [0, 1, 2, 3, 4]
    assert offered[0][1] and offered[1][1]  # the helper has room for the first two
    assert _titles(database) == [f"一种用于测试的成果标题{n}" for n in range(9000)]


@pytest.mark.usefixtures("parallel")
def test_a_file_checked_before_the_helper_starts_is_checked_here(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Late(checking._Helper):
        def take(self, message: tuple[str, Any], progress: Any) -> None:
            if message[0] != "ready":  # it never says so
                super().take(message, progress)

    monkeypatch.setattr(checking, "_Helper", Late)
    seed(database)
    rows = result_rows(4500)
    rows[3000][4] = 10
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, rows)
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, "results", path)
    assert [(p.row, p.field) for p in rejected.value.problems] == [(3002, "trl")]
    rows[3000][4] = 9
    report = import_file(database, "results", write_csv(path, RESULT_COLUMNS, rows))
    assert report.created == 4500
    assert _titles(database) == [f"一种用于测试的成果标题{n}" for n in range(4500)]


def _titles(database: Database) -> list[str]:
    with database.unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(Result.title).where(Result.external_id.like("RES-B%")).order_by(Result.id)
            )
        )

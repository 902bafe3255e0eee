"""``shelfbridge import``, ``export`` and ``demo load``: exit codes and what they print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shelfbridge.cli.data_commands import default_demo_folder
from shelfbridge.core.database import Database
from tests.registry.importing.helpers import fingerprint, seed


def test_import_prints_the_report_and_exports_round_trip(
    database: Database, run_cli: Any, tmp_path: Path
) -> None:
    seed(database)
    path = tmp_path / "orgs.xlsx"
    exported = run_cli("export", "organizations", str(path))
    assert exported.exit_code == 0, exported.output
    assert "Exported 3 organizations" in exported.stdout
    imported = run_cli("import", "organizations", str(path))
    assert imported.exit_code == 0, imported.output
    assert "organizations: 3 rows — 0 created, 0 updated, 3 unchanged." in imported.stdout


def test_a_rejected_file_lists_its_problems_on_stderr_and_exits_1(
    database: Database, run_cli: Any, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    path.write_text("external_id,name,title\nP-1,,professor\nP-2,钱二,dean\n", encoding="utf-8")
    result = run_cli("import", "people", str(path))
    assert result.exit_code == 1
    assert "2 problem(s) found. Nothing was imported." in result.stderr
    assert "Row 2, column name: This field is required." in result.stderr
    assert "Row 3, column title: Unknown value “dean”" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "patents", "x.csv"), "Unknown kind “patents”"),
        (("import", "people", "missing.csv"), "does not exist"),
        (("import", "people", "people.txt"), "Unknown file type “.txt”"),
        (("export", "people", "people.pdf"), "Unknown file type “.pdf”"),
        (("export", "people", "no/such/folder/p.csv"), "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    run_cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "people.txt").write_text("external_id,name\n", encoding="utf-8")
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.skipif(
    not (default_demo_folder() / "organizations.jsonl").is_file(), reason="no demo data"
)
@pytest.mark.slow
def test_demo_load_is_idempotent(
    database: Database, owner_database: Database, run_cli: Any
) -> None:
    first = run_cli("demo", "load")
    assert first.exit_code == 0, first.output
    before = fingerprint(owner_database)
    second = run_cli("demo", "load")
    assert second.exit_code == 0, second.output
    assert " 0 created, 0 updated" in second.stdout
    assert fingerprint(owner_database) == before


def test_demo_load_from_a_folder_without_the_files_exits_2(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("demo", "load", "--from", str(tmp_path))
    assert result.exit_code == 2
    assert "organizations.jsonl" in result.stderr

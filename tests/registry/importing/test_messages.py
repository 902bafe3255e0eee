"""Problems are told in the user's language: Chinese by default, English on request."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from shelfbridge.core.database import Database
from tests.registry.importing.helpers import seed

CORPUS = Path(__file__).parent / "corpus"
CATALOG = Path(__file__).resolve().parents[3] / "src" / "shelfbridge" / "locale" / "zh"


def test_the_import_catalog_parses_and_translates_every_message() -> None:
    with (CATALOG / "importing.po").open("rb") as handle:
        catalog = read_po(handle)
    messages = [m for m in catalog if m.id]
    assert len(messages) >= 40
    assert all(m.string and not m.fuzzy for m in messages)


def test_problems_are_in_chinese_by_default(database: Database, run_cli: object) -> None:
    seed(database)
    result = run_cli(  # type: ignore[operator]
        "import", "demands", str(CORPUS / "demands-three-decimals.csv"), lang="zh"
    )
    assert result.exit_code == 1
    assert "第 3 行，列 budget_min：" in result.stderr
    assert "金额精确到分" in result.stderr
    assert "Row 3" not in result.stderr


def test_problems_are_in_english_on_request(database: Database, run_cli: object) -> None:
    seed(database)
    result = run_cli(  # type: ignore[operator]
        "import", "organizations", str(CORPUS / "organizations-semicolon.csv"), lang="en"
    )
    assert result.exit_code == 1
    assert "Row 1: The columns are separated by “;”, not commas." in result.stderr


def test_a_file_level_problem_is_told_in_chinese(database: Database, run_cli: object) -> None:
    result = run_cli(  # type: ignore[operator]
        "import", "organizations", str(CORPUS / "organizations-utf16-bom.csv"), lang="zh"
    )
    assert result.exit_code == 1
    assert "文件：文件编码为 UTF-16，不是 UTF-8。" in result.stderr

"""Export then import changes nothing, for every kind in every format."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfbridge.core.database import Database
from shelfbridge.core.errors import BadRequest
from shelfbridge.registry.importing import KINDS, export_file, import_file
from tests import factories
from tests.registry.importing.helpers import fingerprint, seed


def seed_awkward_values(database: Database) -> None:
    """Values that are easy to get wrong on the way out and back in."""
    with database.unit_of_work() as session:
        factories.organization(
            session,
            external_id="ORG-Q",
            name='带"引号",和逗号的机构',
            name_en="=SUM(A1) looks like a formula",
            description="第一行\n第二行",
            website="https://example.cn/a?b=c",
        )
        factories.person(
            session,
            external_id="PER-Q",
            name="欧阳修",
            expertise=["锂电池", "储能"],
            profile="研究方向：固态电池；\n主持项目：“储能”,示范",
        )
        factories.result(
            session,
            external_id="RES-Q",
            title="0123",
            trl=9,
            keywords=[],
            contributors=[
                {"name": "甲", "share": "33.33", "person": "PER-Q"},
                {"name": "乙", "share": "33.33"},
                {"name": "丙", "share": "33.34"},
            ],
        )
        factories.demand(
            session,
            "ENT-1",
            external_id="DEM-Q",
            budget_min="0.10",
            budget_max="9999999999999.99",
            deadline="2030-12-31",
            industry="",
            region_code="",
        )


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
@pytest.mark.parametrize("kind", KINDS)
def test_export_then_import_changes_nothing(
    database: Database, owner_database: Database, tmp_path: Path, kind: str, fmt: str
) -> None:
    seed(database)
    seed_awkward_values(database)
    path = tmp_path / f"{kind}.{fmt}"
    count = export_file(database, kind, path)
    assert count >= 2
    before = fingerprint(owner_database)
    report = import_file(database, kind, path)
    assert (report.rows, report.created, report.updated, report.unchanged) == (
        count,
        0,
        0,
        count,
    )
    assert fingerprint(owner_database) == before


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_exporting_twice_gives_the_same_file(database: Database, tmp_path: Path, fmt: str) -> None:
    seed(database)
    seed_awkward_values(database)
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    export_file(database, "results", first)
    import_file(database, "results", first)
    export_file(database, "results", second)
    assert first.read_bytes() == second.read_bytes()


def test_a_csv_export_starts_with_a_bom_and_a_header(database: Database, tmp_path: Path) -> None:
    seed(database)
    path = tmp_path / "p.csv"
    export_file(database, "people", path)
    assert path.read_bytes().startswith(
        b"\xef\xbb\xbfexternal_id,name,organization,title,degree,expertise,profile,email\r\n"
    )


def test_export_reports_progress(database: Database, tmp_path: Path) -> None:
    seed(database)
    calls: list[tuple[str, int, int | None]] = []
    export_file(
        database, "organizations", tmp_path / "o.jsonl", progress=lambda *c: calls.append(c)
    )
    assert calls[0] == ("export", 0, 3)
    assert calls[-1] == ("export", 3, 3)


def test_a_control_character_excel_cannot_store_is_refused_in_xlsx_only(
    database: Database, tmp_path: Path
) -> None:
    with database.unit_of_work() as session:
        factories.organization(session, external_id="ORG-V", description="第一栏\x0b第二栏")
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(BadRequest) as refused:
        export_file(database, "organizations", folder / "o.xlsx")
    assert refused.value.params == {"external_id": "ORG-V", "column": "description"}
    assert not list(folder.iterdir())  # no partial file is left behind
    export_file(database, "organizations", folder / "o.csv")
    assert import_file(database, "organizations", folder / "o.csv").unchanged == 1

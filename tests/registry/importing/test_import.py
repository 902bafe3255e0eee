"""Imports: all or nothing, idempotent, audited like any other change, and streamed."""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from shelfbridge.core import audit
from shelfbridge.core.audit import AuditEvent
from shelfbridge.core.database import Database
from shelfbridge.core.errors import BadRequest, ImportRejected
from shelfbridge.registry import service
from shelfbridge.registry.importing import checking, import_file
from shelfbridge.registry.models import Organization, Result
from tests.registry.importing.helpers import fingerprint, seed

RESULT_COLUMNS = ["external_id", "kind", "title", "keywords", "trl", "owner", "contributors"]


def write_csv(path: Path, header: list[str], rows: list[list[Any]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def result_rows(count: int, start: int = 0) -> list[list[Any]]:
    return [
        [
            f"RES-B{n:05d}",
            "paper",
            f"一种用于测试的成果标题{n}",
            "测试;导入",
            (n % 9) + 1,
            "ORG-U" if n % 2 else "",
            "张三@PER-1:50;李四:50" if n % 3 else "",
        ]
        for n in range(start, start + count)
    ]


def events(database: Database) -> list[AuditEvent]:
    with database.unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_a_new_file_creates_every_record_with_one_audit_event_each(
    database: Database, tmp_path: Path
) -> None:
    seed(database)
    before = len(events(database))
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(30))
    report = import_file(database, "results", path)
    assert (report.rows, report.created, report.updated, report.unchanged) == (30, 30, 0, 0)
    new = events(database)[before:]
    assert len(new) == 30
    assert {e.action for e in new} == {"create"}
    assert {e.entity_kind for e in new} == {"result"}
    with database.unit_of_work(write=False) as session:
        assert audit.verify_chain(session).ok


def test_reimporting_the_same_file_changes_nothing(
    database: Database, owner_database: Database, tmp_path: Path
) -> None:
    seed(database)
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(25))
    import_file(database, "results", path)
    before = fingerprint(owner_database)
    with database.unit_of_work(write=False) as session:
        head = audit.head(session)
    report = import_file(database, "results", path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 25)
    assert fingerprint(owner_database) == before
    with database.unit_of_work(write=False) as session:
        assert audit.head(session) == head


def test_a_changed_row_is_updated_with_an_audit_event_holding_before_and_after(
    database: Database, tmp_path: Path
) -> None:
    seed(database)
    rows = result_rows(5)
    import_file(database, "results", write_csv(tmp_path / "a.csv", RESULT_COLUMNS, rows))
    rows[2][2] = "改过的标题"
    rows[3][6] = "王五:100"
    count = len(events(database))
    report = import_file(database, "results", write_csv(tmp_path / "b.csv", RESULT_COLUMNS, rows))
    assert (report.created, report.updated, report.unchanged) == (0, 2, 3)
    new = events(database)[count:]
    assert [(e.action, e.external_id) for e in new] == [
        ("update", "RES-B00002"),
        ("update", "RES-B00003"),
    ]
    title_change = json.loads(new[0].before or ""), json.loads(new[0].after or "")
    assert title_change[0]["title"] == "一种用于测试的成果标题2"
    assert title_change[1]["title"] == "改过的标题"
    contributors = json.loads(new[1].after or "")["contributors"]
    assert contributors == [{"name": "王五", "person_id": None, "position": 1, "share": "100.00"}]


def test_import_events_have_the_shape_of_the_orm_snapshot(
    database: Database, tmp_path: Path
) -> None:
    """An event written by an import looks like one written through the ORM."""
    seed(database)
    import_file(database, "results", write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(3)))
    with database.unit_of_work(write=False) as session:
        for record in session.scalars(select(Result).where(Result.external_id.like("RES-B%"))):
            event = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_kind == "result", AuditEvent.entity_id == record.id
                )
            ).one()
            assert event.after == audit.canonical_json(audit.snapshot(record))
    # and an update through the API afterwards starts from the same snapshot
    with database.unit_of_work() as session:
        record = session.scalars(select(Result).where(Result.external_id == "RES-B00001")).one()
        service.update(session, "results", record.id, {"title": "经由接口修改"})
    last = events(database)[-1]
    first = next(
        e
        for e in events(database)
        if (e.entity_kind, e.entity_id) == (last.entity_kind, last.entity_id)
    )
    assert (first.action, last.action) == ("create", "update")
    assert json.loads(last.before or "") == json.loads(first.after or "")


@pytest.mark.parametrize("kind", ["organizations", "people", "demands"])
def test_other_kinds_write_events_shaped_like_the_orm_snapshot(
    database: Database, tmp_path: Path, kind: str
) -> None:
    seed(database)
    files = {
        "organizations": (
            ["external_id", "name", "kind", "parent", "region_code", "website"],
            [["ORG-Z", "某研究院", "research_institute", "ORG-U", "110108", "https://x.cn"]],
        ),
        "people": (
            ["external_id", "name", "organization", "expertise", "email"],
            [["PER-Z", "孙六", "ENT-1", "电池;储能", "sun@example.cn"]],
        ),
        "demands": (
            ["external_id", "enterprise", "title", "description", "budget_min", "deadline"],
            [["DEM-Z", "ENT-1", "寻求技术", "描述", "1234.5", "2027-01-31"]],
        ),
    }
    header, rows = files[kind]
    import_file(database, kind, write_csv(tmp_path / "f.csv", header, rows))
    model = service.spec_for(kind).model
    with database.unit_of_work(write=False) as session:
        record = session.scalars(select(model).where(model.external_id == rows[0][0])).one()
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event is not None
        assert event.after == audit.canonical_json(audit.snapshot(record))


def test_a_parent_may_come_later_in_the_same_file(database: Database, tmp_path: Path) -> None:
    header = ["external_id", "name", "kind", "parent"]
    rows = [
        ["LAB-A", "甲实验室", "state_key_lab", "UNI-A"],
        ["LAB-B", "乙实验室", "state_key_lab", "LAB-A"],
        ["UNI-A", "甲大学", "university", ""],
        ["LAB-C", "丙实验室", "state_key_lab", "UNI-A"],
    ]
    report = import_file(database, "organizations", write_csv(tmp_path / "o.csv", header, rows))
    assert report.created == 4
    with database.unit_of_work(write=False) as session:
        parents = {
            o.external_id: o.parent.external_id if o.parent else None
            for o in session.scalars(select(Organization))
        }
    assert parents == {"LAB-A": "UNI-A", "LAB-B": "LAB-A", "UNI-A": None, "LAB-C": "UNI-A"}
    again = import_file(database, "organizations", tmp_path / "o.csv")
    assert again.unchanged == 4


def test_a_parent_loop_through_the_database_is_refused(database: Database, tmp_path: Path) -> None:
    seed(database)  # LAB-1's parent is ORG-U
    header = ["external_id", "name", "kind", "parent"]
    path = write_csv(tmp_path / "o.csv", header, [["ORG-U", "种子大学", "university", "LAB-1"]])
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, "organizations", path)
    (problem,) = rejected.value.problems
    assert (problem.row, problem.field) == (2, "parent")
    assert problem.params["chain"] == "ORG-U → LAB-1 → ORG-U"


def test_every_problem_of_every_row_is_reported(database: Database, tmp_path: Path) -> None:
    seed(database)
    rows = result_rows(6)
    rows[0][4] = 0
    rows[2][1] = "thesis"
    rows[2][4] = "x"
    rows[5][0] = rows[1][0]
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, "results", write_csv(tmp_path / "r.csv", RESULT_COLUMNS, rows))
    places = [(p.row, p.field) for p in rejected.value.problems]
    assert places == [(2, "trl"), (4, "kind"), (4, "trl"), (7, "external_id")]
    assert rejected.value.rows_checked == 6


def test_progress_is_reported_for_both_phases(database: Database, tmp_path: Path) -> None:
    seed(database)
    calls: list[tuple[str, int, int | None]] = []
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(2500))
    import_file(database, "results", path, progress=lambda *call: calls.append(call))
    phases = [phase for phase, _done, _total in calls]
    assert phases.index("write") > max(i for i, p in enumerate(phases) if p == "check")
    assert ("check", 2500, 2500) in calls
    assert calls[-1] == ("write", 2500, 2500)
    assert [done for phase, done, _ in calls if phase == "write"] == sorted(
        done for phase, done, _ in calls if phase == "write"
    )


def test_a_2000_row_file_with_a_utf8_bom_imports(database: Database, tmp_path: Path) -> None:
    seed(database)
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(2000), bom=True)
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    report = import_file(database, "results", path)
    assert report.created == 2000
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Result)) == 2001


def test_a_large_file_is_checked_by_several_processes(
    database: Database, owner_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checking, "PARALLEL_MIN_BYTES", 0)
    seed(database)
    rows = result_rows(4500)
    rows[2600][4] = 12  # row 2602, in the second chunk: the second checker's share
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, rows)
    before = fingerprint(owner_database)
    with pytest.raises(ImportRejected) as rejected:
        import_file(database, "results", path)
    assert [(p.row, p.field) for p in rejected.value.problems] == [(2602, "trl")]
    assert rejected.value.rows_checked == 4500
    assert fingerprint(owner_database) == before
    rows[2600][4] = 9
    report = import_file(database, "results", write_csv(path, RESULT_COLUMNS, rows))
    assert (report.rows, report.created) == (4500, 4500)
    with database.unit_of_work(write=False) as session:
        titles = list(
            session.scalars(
                select(Result.title).where(Result.external_id.like("RES-B%")).order_by(Result.id)
            )
        )
    assert titles == [f"一种用于测试的成果标题{n}" for n in range(4500)]


def test_jsonl_numbers_are_exact_decimals(database: Database, tmp_path: Path) -> None:
    seed(database)
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"external_id": "DEM-J", "enterprise": "ENT-1", "title": "t", "description": "d", '
        '"budget_min": 1234.5, "budget_max": 99999999.99}\n',
        encoding="utf-8",
    )
    import_file(database, "demands", path)
    event = events(database)[-1]
    after = json.loads(event.after or "")
    assert (after["budget_min"], after["budget_max"]) == ("1234.50", "99999999.99")


def test_unknown_kind_type_or_missing_file_is_a_bad_request(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(1))
    with pytest.raises(BadRequest):
        import_file(database, "patents", path)
    with pytest.raises(BadRequest):
        import_file(database, "results", tmp_path / "r.txt")
    with pytest.raises(BadRequest):
        import_file(database, "results", tmp_path / "missing.csv")

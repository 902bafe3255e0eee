"""The import page: upload a file, read the counts or the table of problems."""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import Workbook

from shelfbridge.registry.models import Demand, Organization
from tests import auth, factories

HEADER = "external_id,enterprise,title,description,budget_min,budget_max\n"


def _enterprise(database: Any) -> str:
    with database.unit_of_work() as session:
        return str(factories.enterprise(session).external_id)


def _upload(client: Any, kind: str, name: str, content: bytes, **headers: str) -> Any:
    return client.post(
        "/import",
        data=auth.with_csrf(client, {"kind": kind}, "/import"),
        files={"file": (name, content, "application/octet-stream")},
        headers=headers,
    )


def _count(database: Any, model: Any) -> int:
    with database.unit_of_work(write=False) as session:
        return int(session.query(model).count())


def test_import_page_offers_the_kinds_and_an_upload_with_progress(admin_client: Any) -> None:
    html = admin_client.get("/import").text
    assert 'hx-post="/import"' in html and 'hx-encoding="multipart/form-data"' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'id="import-progress" class="htmx-indicator' in html
    for kind in ("results", "demands", "organizations", "people"):
        assert f'<option value="{kind}"' in html


def test_a_good_file_is_imported_and_counted(admin_client: Any, database: Any) -> None:
    ent = _enterprise(database)
    content = (HEADER + f"D-1,{ent},需求一,描述一,100,200\nD-2,{ent},需求二,描述二,,\n").encode()
    response = _upload(admin_client, "demands", "demands.csv", content)
    assert response.status_code == 200
    assert 'data-outcome="imported"' in response.text
    assert '<dd data-count="created">2</dd>' in response.text
    assert _count(database, Demand) == 2
    again = _upload(admin_client, "demands", "demands.csv", content)
    assert '<dd data-count="unchanged">2</dd>' in again.text
    assert _count(database, Demand) == 2


def test_a_bad_row_rejects_the_file_and_names_row_column_and_reason(
    admin_client: Any, database: Any
) -> None:
    ent = _enterprise(database)
    content = (HEADER + f"D-1,{ent},需求一,描述一,100,200\nD-2,{ent},需求二,描述二,abc,\n").encode()
    response = _upload(admin_client, "demands", "demands.csv", content, **{"HX-Request": "true"})
    assert response.status_code == 422
    assert "<html" not in response.text  # htmx gets the report alone
    assert 'data-outcome="rejected"' in response.text
    assert "未导入任何数据" in response.text
    rows = response.text[response.text.index("<tbody>") :]
    assert '<td class="num">3</td><td class="mono">budget_min</td>' in rows
    assert "金额格式无效" in rows
    assert _count(database, Demand) == 0


def test_the_report_speaks_english_when_asked(admin_client: Any, database: Any) -> None:
    content = b"external_id,name,kind\nO-1,Test,castle\n"
    response = admin_client.post(
        "/import?lang=en",
        data=auth.with_csrf(admin_client, {"kind": "organizations"}, "/import"),
        files={"file": ("orgs.csv", content, "text/csv")},
    )
    assert response.status_code == 422
    assert "Nothing was imported" in response.text
    assert "Unknown value “castle”" in response.text


def test_xlsx_and_jsonl_files_are_accepted(admin_client: Any, database: Any) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["external_id", "name", "kind", "region_code"])
    sheet.append(["ORG-X1", "某某研究院", "research_institute", "310000"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert _upload(admin_client, "organizations", "orgs.xlsx", buffer.getvalue()).status_code == 200
    line = json.dumps({"external_id": "ORG-J1", "name": "某某大学", "kind": "university"})
    assert _upload(admin_client, "organizations", "orgs.jsonl", line.encode()).status_code == 200
    assert _count(database, Organization) == 2


def test_a_file_of_another_type_is_refused_with_advice(admin_client: Any, database: Any) -> None:
    response = _upload(admin_client, "organizations", "orgs.txt", b"hello")
    assert response.status_code == 422
    assert "不是 .csv、.xlsx 或 .jsonl 文件" in response.text
    assert _count(database, Organization) == 0


def test_an_upload_without_a_file_asks_for_one(admin_client: Any) -> None:
    response = admin_client.post(
        "/import",
        data=auth.with_csrf(admin_client, {"kind": "results"}, "/import"),
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 422
    assert "请选择要导入的文件" in response.text


def test_an_unknown_kind_is_refused(admin_client: Any) -> None:
    response = _upload(admin_client, "castles", "x.csv", b"external_id\nX\n")
    assert response.status_code == 422
    assert "请选择文件中的记录类型" in response.text

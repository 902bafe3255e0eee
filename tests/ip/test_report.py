"""The Art. 21 annual report: the figures of a year, the page for officers, the XLSX read back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shelfbridge.core.errors import BadRequest, PermissionDenied
from shelfbridge.ip import report
from tests import auth
from tests.ip.ledger_support import Ledger, acting_as, build_ledger
from tests.ip.test_ip_web import _api, _run_licence


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _settle(client: TestClient, ids: dict[str, int]) -> None:
    path = f"/api/v1/ip/distributions/{ids['distribution']}"
    assert client.post(f"{path}/approve", headers=_api(client, "officer2_a")).status_code == 200
    assert client.post(f"{path}/pay", headers=_api(client, "officer_a")).status_code == 200


def test_the_year_of_the_deal_counts_contracts_and_income(
    client: TestClient, database: Any, ledger: Ledger
) -> None:
    _settle(client, _run_licence(client, ledger))
    with database.unit_of_work(write=False) as session:
        found = report.build(session, ledger.org_a, 2024)
        this_year = report.build(session, ledger.org_a, date.today().year)
        empty = report.build(session, ledger.org_a, 2023)
    assert found.results_transformed == 1
    contracts = {row.code: row for row in found.contracts}
    assert len(contracts) == 5  # the five technology contracts of the Civil Code
    assert (contracts["licensing"].count, contracts["licensing"].amount) == (
        1,
        Decimal("2000000.00"),
    )
    assert (found.received, found.costs, found.net) == (
        Decimal("200000.00"),
        Decimal("12000.00"),
        Decimal("188000.00"),
    )
    # Paid today: the reward counts in the year it was paid, with the two people rewarded.
    assert (this_year.rewards_paid, this_year.people_rewarded) == (Decimal("131600.00"), 2)
    assert (empty.results_transformed, empty.received) == (0, Decimal("0.00"))


def test_only_the_units_officers_read_its_report(database: Any, ledger: Ledger) -> None:
    with database.unit_of_work(write=False) as session:
        for who in ("officer_b", "researcher_a"):
            with acting_as(ledger.actors[who]), pytest.raises(PermissionDenied):
                report.build(session, ledger.org_a, 2024)
        with acting_as(ledger.actors["admin_a"]):
            assert report.build(session, ledger.org_a, 2024).org_id == ledger.org_a


@pytest.mark.parametrize("value", ["24", "year", "12345"])
def test_a_bad_year_is_refused(value: str) -> None:
    with pytest.raises(BadRequest):
        report.check_year(value)


def test_the_page_and_the_xlsx_agree(app: Any, client: TestClient, ledger: Ledger) -> None:
    _settle(client, _run_licence(client, ledger))
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    page = officer.get("/ip/report", params={"year": "2024", "lang": "en"})
    assert page.status_code == 200
    assert 'data-figure="results">1<' in page.text
    assert "200,000.00" in page.text and "188,000.00" in page.text
    download = officer.get("/ip/report.xlsx", params={"org": ledger.org_a, "year": "2024"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(report.XLSX_TYPE)
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    assert rows["Results transformed"][0] == 1
    assert rows["technology licensing contract"][:3] == (1, Decimal("2000000.00"), 0)
    assert rows["Total received"][1] == Decimal("200000.00")
    assert rows["Net income"][1] == Decimal("188000.00")
    zh = officer.get("/ip/report.xlsx", params={"org": ledger.org_a, "year": "2024", "lang": "zh"})
    assert "年度报告" in str(load_workbook(io.BytesIO(zh.content)).active["A1"].value)
    for who in ("ip-researcher-a", "ip-inventor"):
        other = TestClient(app)
        auth.sign_in(other, who)
        assert other.get("/ip/report").status_code == 403
    b = TestClient(app)
    auth.sign_in(b, "ip-officer-b")
    assert b.get("/ip/report.xlsx", params={"org": ledger.org_a, "year": "2024"}).status_code == 403

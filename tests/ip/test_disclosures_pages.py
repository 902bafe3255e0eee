"""Invention disclosures in the pages: forms with each problem beside its field, the workflow's
buttons (CSRF-protected forms), the office's assessment and decision forms, Chinese by default
and English on request, and 404 for anyone who may not see a disclosure."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shelfbridge.ip.disclosure_models import Disclosure
from tests import auth
from tests.ip.ledger_support import Ledger, build_ledger


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _browser(app: Any, who: str) -> TestClient:
    client = TestClient(app)
    auth.sign_in(client, "ip-" + who.replace("_", "-"))
    return client


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data=auth.with_csrf(client, data), follow_redirects=False)


FORM = {
    "title": "一种柔性传感器的封装结构",
    "abstract": "以双层封装降低湿气渗透。",
    "technical_field": "传感器",
    "conceived_on": "2024-05-01",
    "confidentiality": "internal",
    "contributors": "王发明@IP-PER-1:70:main\n李协作:30",
}


def _created(response: Any) -> int:
    assert response.status_code == 303, response.text
    found = re.search(r"/ip/disclosures/(\d+)$", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def test_a_bad_form_shows_each_problem_beside_its_field_and_writes_nothing(
    app: Any, ledger: Ledger, database: Any
) -> None:
    inventor = _browser(app, "inventor")
    assert inventor.get("/ip/disclosures/new").status_code == 200
    bad = {**FORM, "title": " ", "contributors": "王发明:70\n李协作:20", "conceived_on": "5月"}
    page = _post(inventor, "/ip/disclosures/new", bad)
    assert page.status_code == 422
    for field in ("title", "contributors", "conceived_on"):
        assert re.search(rf'has-error" data-field="{field}"', page.text), field
    assert "90%" in page.text and "此项为必填项" in page.text
    assert "李协作:20" in page.text  # what was typed is kept
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Disclosure)) == 0


def test_the_researcher_submits_and_the_officer_assesses_and_files_through_the_pages(
    app: Any, ledger: Ledger
) -> None:
    inventor = _browser(app, "inventor")
    ident = _created(_post(inventor, "/ip/disclosures/new", FORM))
    detail = inventor.get(f"/ip/disclosures/{ident}")
    assert "提交给技术转移办公室" in detail.text and "王发明" in detail.text
    assert (
        _post(inventor, f"/ip/disclosures/{ident}/transition", {"status": "submitted"}).status_code
        == 303
    )
    assert 'data-status="submitted"' in inventor.get(f"/ip/disclosures/{ident}").text

    officer = _browser(app, "officer_a")
    assert "一种柔性传感器的封装结构" in officer.get("/ip/disclosures").text
    _post(officer, f"/ip/disclosures/{ident}/transition", {"status": "under-assessment"})
    assert officer.get(f"/ip/disclosures/{ident}/assessment").status_code == 200
    missing = _post(
        officer,
        f"/ip/disclosures/{ident}/assessment",
        {"novelty": "high", "inventive_step": "high", "market_potential": "medium"},
    )
    assert missing.status_code == 422
    assert 'has-error" data-field="trl"' in missing.text
    assessment = {
        "novelty": "high",
        "inventive_step": "high",
        "market_potential": "medium",
        "trl": "5",
        "recommendation": "utility-model",
    }
    assert _post(officer, f"/ip/disclosures/{ident}/assessment", assessment).status_code == 303
    form = officer.get(f"/ip/disclosures/{ident}/decision")
    assert re.search(r'<option value="utility-model" selected>', form.text)
    decided = _post(
        officer,
        f"/ip/disclosures/{ident}/decision",
        {"decision": "file", "asset_kind": "utility-model", "application_number": "CN2025-1"},
    )
    assert decided.status_code == 303
    final = officer.get(f"/ip/disclosures/{ident}")
    assert "实用新型" in final.text and 'id="disclosure-asset"' in final.text
    # The inventor sees the decision but not the office's assessment.
    mine = inventor.get(f"/ip/disclosures/{ident}")
    assert 'id="disclosure-decision"' in mine.text and 'id="disclosure-assessment"' not in mine.text


def test_the_pages_speak_english_on_request(app: Any, ledger: Ledger) -> None:
    inventor = _browser(app, "inventor")
    ident = _created(_post(inventor, "/ip/disclosures/new", FORM))
    page = inventor.get(f"/ip/disclosures/{ident}", params={"lang": "en"})
    assert "Submit to the tech-transfer office" in page.text
    assert "Inventors and shares" in page.text


def test_others_get_404_and_researchers_no_office_forms(app: Any, ledger: Ledger) -> None:
    inventor = _browser(app, "inventor")
    ident = _created(_post(inventor, "/ip/disclosures/new", FORM))
    for who in ("officer_b", "researcher_a"):
        browser = _browser(app, who)
        for path in ("", "/edit", "/assessment", "/decision"):
            assert browser.get(f"/ip/disclosures/{ident}{path}").status_code == 404, (who, path)
        refused = _post(browser, f"/ip/disclosures/{ident}/transition", {"status": "submitted"})
        assert refused.status_code == 404
    assert inventor.get(f"/ip/disclosures/{ident}/assessment").status_code == 403
    no_token = inventor.post(
        f"/ip/disclosures/{ident}/transition", data={"status": "submitted"}, follow_redirects=False
    )
    assert no_token.status_code == 403
    assert 'data-status="draft"' in inventor.get(f"/ip/disclosures/{ident}").text

"""The contributor's statement as PDF: Chinese text that can be extracted, the shipped font
embedded (the test machines have no CJK font), and the statement page's permissions."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests import auth
from tests.ip.ledger_support import Ledger, build_ledger
from tests.ip.test_ip_web import _run_licence


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _browser(app: Any, who: str) -> TestClient:
    client = TestClient(app)
    auth.sign_in(client, "ip-" + who.replace("_", "-"))
    return client


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _fonts(content: bytes) -> list[dict[str, Any]]:
    found = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            found.append(
                {
                    "name": str(font["/BaseFont"]),
                    "embedded": "/FontFile2" in descriptor,
                    "to_unicode": "/ToUnicode" in font,
                }
            )
    return found


def test_the_inventor_downloads_a_chinese_pdf_with_the_font_embedded(
    app: Any, client: TestClient, ledger: Ledger
) -> None:
    _run_licence(client, ledger)
    inventor = _browser(app, "inventor")
    response = inventor.get("/ip/statement.pdf", headers={"Accept-Language": "zh"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    text = _text(response.content)
    assert "完成人奖励对账单" in text
    assert "王发明" in text
    assert "¥98,700.00" in text and "¥188,000.00" in text  # my reward; net income
    assert "32,900.00" not in text  # the other contributor's payout is not mine to see
    assert "北京市促进科技成果转化条例" in text  # the rule applied, with its source
    fonts = _fonts(response.content)
    assert fonts and all(f["embedded"] and f["to_unicode"] for f in fonts)
    assert all(f["name"].endswith("+ShelfbridgeSansSC") for f in fonts)  # a subset of ours


def test_the_pdf_speaks_english_when_asked(app: Any, client: TestClient, ledger: Ledger) -> None:
    _run_licence(client, ledger)
    inventor = _browser(app, "inventor")
    text = _text(inventor.get("/ip/statement.pdf", params={"lang": "en"}).content)
    assert "Contributor reward statement" in text and "王发明" in text


def test_officers_of_the_owner_get_a_contributors_pdf_and_others_404(
    app: Any, client: TestClient, ledger: Ledger
) -> None:
    _run_licence(client, ledger)
    path = f"/ip/statements/{ledger.person}.pdf"
    officer = _browser(app, "officer_a").get(path)
    assert officer.status_code == 200
    assert "¥98,700.00" in _text(officer.content)
    for who in ("officer_b", "researcher_a"):
        assert _browser(app, who).get(path).status_code == 404
    assert _browser(app, "researcher_a").get("/ip/statement.pdf").status_code == 404
    assert TestClient(app).get("/ip/statement.pdf").status_code == 401

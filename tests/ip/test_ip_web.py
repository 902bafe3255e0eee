"""The ledger's API and pages with real ids: the owner's officers run it end to end, another
tenant gets 404, deal terms stay with the officers, a contributor reads their statement."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import auth
from tests.ip.ledger_support import Ledger, build_ledger


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _api(client: TestClient, who: str) -> dict[str, str]:
    return auth.bearer(auth.api_token(client, "ip-" + who.replace("_", "-")))


def _run_licence(client: TestClient, ledger: Ledger) -> dict[str, int]:
    officer = _api(client, "officer_a")
    deal = client.post(
        f"/api/v1/ip/assets/{ledger.asset}/deals",
        json={
            "deal_type": "licence",
            "counterparty_name": "某某电池有限公司",
            "licence_scope": "exclusive",
            "term_start": "2024-01-01",
            "term_end": "2030-12-31",
            "territory": "中国",
            "price": "2000000.00",
            "price_mode": "listing",
        },
        headers=officer,
    )
    assert deal.status_code == 201, deal.text
    deal_id = deal.json()["id"]
    signed = client.post(
        f"/api/v1/ip/deals/{deal_id}/sign", json={"signed_on": "2024-01-10"}, headers=officer
    )
    assert signed.json()["status"] == "signed"
    income = client.post(
        f"/api/v1/ip/deals/{deal_id}/income",
        json={
            "received_on": "2024-02-01",
            "amount": "200000.00",
            "deductions": [{"kind": "taxes", "amount": "12000.00"}],
        },
        headers=officer,
    )
    assert income.status_code == 201, income.text
    assert income.json()["net"] == "188000.00"
    income_id = income.json()["id"]
    found = client.post(f"/api/v1/ip/income/{income_id}/distribution", headers=officer)
    assert found.status_code == 201, found.text
    return {"deal": deal_id, "income": income_id, "distribution": found.json()["id"]}


def test_the_api_runs_a_licence_from_deal_to_payment(client: TestClient, ledger: Ledger) -> None:
    ids = _run_licence(client, ledger)
    officer, second = _api(client, "officer_a"), _api(client, "officer2_a")
    got = client.get(f"/api/v1/ip/distributions/{ids['distribution']}", headers=officer).json()
    assert (got["percent"], got["pool"], got["retained"]) == ("70", "131600.00", "56400.00")
    assert [line["amount"] for line in got["lines"]] == ["98700.00", "32900.00"]
    assert any(r["id"] == "BJ-2019-12-3-1" and r["applied"] for r in got["rules"])
    again = client.post(f"/api/v1/ip/income/{ids['income']}/distribution", headers=second)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    own = client.post(f"/api/v1/ip/distributions/{ids['distribution']}/approve", headers=officer)
    assert own.status_code == 403
    ok = client.post(f"/api/v1/ip/distributions/{ids['distribution']}/approve", headers=second)
    assert ok.json()["status"] == "approved"
    paid = client.post(f"/api/v1/ip/distributions/{ids['distribution']}/pay", headers=officer)
    assert paid.json()["status"] == "paid"
    twice = client.post(f"/api/v1/ip/distributions/{ids['distribution']}/pay", headers=officer)
    assert twice.status_code == 409


def test_another_tenant_and_non_officers_get_404_for_deal_terms(
    client: TestClient, ledger: Ledger
) -> None:
    ids = _run_licence(client, ledger)
    for who in ("officer_b", "researcher_a", "inventor"):
        headers = _api(client, who)
        assert client.get(f"/api/v1/ip/deals/{ids['deal']}", headers=headers).status_code == 404
        assert client.get(f"/api/v1/ip/income/{ids['income']}", headers=headers).status_code == 404
        path = f"/api/v1/ip/distributions/{ids['distribution']}"
        assert client.get(path, headers=headers).status_code == 404
    b = _api(client, "officer_b")
    assert client.get(f"/api/v1/ip/assets/{ledger.asset}", headers=b).status_code == 404
    assert client.get("/api/v1/ip/assets", headers=b).json() == []
    researcher = client.get(
        f"/api/v1/ip/assets/{ledger.asset}", headers=_api(client, "researcher_a")
    ).json()
    assert [c["weight"] for c in researcher["contributors"]] == [None, None]


def test_a_forbidden_transition_answers_409_naming_the_allowed_steps(
    client: TestClient, ledger: Ledger
) -> None:
    officer = _api(client, "officer_a")
    response = client.post(
        f"/api/v1/ip/assets/{ledger.asset}/transitions",
        json={"status": "transferred"},
        headers={**officer, "Accept-Language": "zh"},
    )
    assert response.status_code == 409
    assert "可以变为" in response.json()["detail"]


def test_the_inventor_reads_their_own_statement(client: TestClient, ledger: Ledger) -> None:
    ids = _run_licence(client, ledger)
    mine = client.get("/api/v1/ip/statement", headers=_api(client, "inventor"))
    assert mine.status_code == 200
    body = mine.json()
    assert body["name"] == "王发明"
    (entry,) = body["entries"]
    assert entry["payout"] == "98700.00"
    assert entry["income"]["deductions"][0]["rule_id"] == "BJ-NET-taxes"
    assert "32900.00" not in mine.text  # the other contributor's payout
    assert entry["distribution"]["rules"]
    officer = _api(client, "officer_a")
    path = f"/api/v1/ip/statement/{ledger.person}"
    assert client.get(path, headers=officer).json()["totals"]["requested"] == "98700.00"
    assert client.get(path, headers=_api(client, "officer_b")).status_code == 404
    assert ids


def test_a_state_university_policy_below_the_floor_is_refused_citing_the_article(
    client: TestClient, ledger: Ledger
) -> None:
    response = client.post(
        "/api/v1/ip/policies",
        json={"title": "办法", "effective_from": "2024-01-01", "net_income_percent": "30"},
        headers={**_api(client, "officer_a"), "Accept-Language": "zh"},
    )
    assert response.status_code == 422
    assert "第四十五条" in response.text


def test_the_pages_show_the_asset_the_deal_and_the_statement(
    app: Any, client: TestClient, ledger: Ledger
) -> None:
    ids = _run_licence(client, ledger)
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    page = officer.get(f"/ip/assets/{ledger.asset}")
    assert page.status_code == 200
    assert 'name="status" value="published"' in page.text
    assert officer.get(f"/ip/deals/{ids['deal']}").status_code == 200
    assert "131,600.00" in officer.get(f"/ip/distributions/{ids['distribution']}").text
    inventor = TestClient(app)
    auth.sign_in(inventor, "ip-inventor")
    statement = inventor.get("/ip/statement")
    assert statement.status_code == 200
    assert "98,700.00" in statement.text and "32,900.00" not in statement.text
    assert inventor.get(f"/ip/deals/{ids['deal']}").status_code == 404
    other = TestClient(app)
    auth.sign_in(other, "ip-officer-b")
    assert other.get(f"/ip/assets/{ledger.asset}").status_code == 404


def test_the_page_forms_create_an_asset_and_move_it_along(app: Any, ledger: Ledger) -> None:
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    form = {
        "kind": "utility-model",
        "title": "一种电池包散热结构",
        "filed_on": "2024-05-01",
        "contributors": "王发明@IP-PER-1:2:main\n李协作:1",
    }
    created = officer.post(
        "/ip/assets/new", data=auth.with_csrf(officer, form), follow_redirects=False
    )
    assert created.status_code == 303, created.text
    path = created.headers["location"]
    moved = officer.post(
        f"{path}/transition",
        data=auth.with_csrf(officer, {"status": "granted", "on": "2024-11-01"}),
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert "2024-11-01" in officer.get(path).text
    refused = officer.post(
        "/ip/assets/new",
        data=auth.with_csrf(officer, {**form, "contributors": "甲:-1"}),
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "error-summary" in refused.text

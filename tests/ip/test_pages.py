"""The reward calculator page: public, a GET form, the answer or the problem on submit."""

from __future__ import annotations

from typing import Any

CASE = {
    "jurisdiction": "110000",
    "unit_type": "state-university",
    "mode": "licence",
    "amount": "100000",
    "contributors": "Li:3,Wang:1",
    "date": "2024-06-01",
}


def test_the_form_is_shown_to_anyone_without_signing_in(client: Any) -> None:
    response = client.get("/rewards/simulate", params={"lang": "en"})
    assert response.status_code == 200
    assert "Reward calculator" in response.text
    assert 'name="contributors"' in response.text
    assert 'id="reward-result"' not in response.text


def test_a_submitted_case_shows_the_pool_the_shares_and_the_article(client: Any) -> None:
    response = client.get("/rewards/simulate", params={**CASE, "lang": "en"})
    assert response.status_code == 200
    assert 'data-pool="70000.00"' in response.text
    assert 'data-amount="52500.00"' in response.text
    assert 'data-amount="17500.00"' in response.text
    assert "Art. 12 ¶3 (1)" in response.text
    assert 'data-rule="CN-SC2016-MAIN" data-unconfirmed="true"' in response.text


def test_the_page_speaks_chinese_by_default(client: Any) -> None:
    response = client.get("/rewards/simulate", params=CASE)
    assert response.status_code == 200
    assert "奖励测算" in response.text and "第十二条第三款" in response.text


def test_bad_input_answers_422_with_the_message_above_the_form(client: Any) -> None:
    response = client.get("/rewards/simulate", params={**CASE, "jurisdiction": "XX", "lang": "en"})
    assert response.status_code == 422
    assert "is not a jurisdiction" in response.text
    assert 'value="XX"' in response.text  # the form keeps what was typed


def test_a_refused_policy_cites_the_article(client: Any) -> None:
    params = {**CASE, "jurisdiction": "CN", "policy": "30", "lang": "en"}
    response = client.get("/rewards/simulate", params=params)
    assert response.status_code == 422
    assert "Art. 45 ¶2" in response.text

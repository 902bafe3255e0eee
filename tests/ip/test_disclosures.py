"""Invention disclosures through the JSON API: a researcher drafts and submits, an officer
assesses and decides; only the allowed steps are taken, shares sum to exactly 100, and nobody
but the unit's officers and the disclosure's own researchers sees it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shelfbridge.core.audit import AuditEvent
from shelfbridge.ip.disclosure_models import Disclosure
from shelfbridge.ip.models import IpAsset
from tests import auth, factories
from tests.ip.ledger_support import Ledger, acting_as, build_ledger

BASE = "/api/v1/ip/disclosures"


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _api(client: TestClient, who: str) -> dict[str, str]:
    return auth.bearer(auth.api_token(client, "ip-" + who.replace("_", "-")))


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "title": "一种低温固态电解质的界面改性方法",
        "abstract": "在电解质与电极之间引入缓冲层，降低界面阻抗。",
        "technical_field": "储能材料",
        "conceived_on": "2024-03-01",
        "funding_source": "国家重点研发计划",
        "contributors": [
            {"person_id": None, "name": "王发明", "share": "60", "main": True},
            {"name": "李协作", "share": "40"},
        ],
        **changes,
    }


def _draft(client: TestClient, ledger: Ledger, who: str = "inventor", **changes: Any) -> int:
    body = _body(**changes)
    body["contributors"][0]["person_id"] = ledger.person
    response = client.post(BASE, json=body, headers=_api(client, who))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _step(client: TestClient, ident: int, status: str, who: str) -> Any:
    return client.post(
        f"{BASE}/{ident}/transitions", json={"status": status}, headers=_api(client, who)
    )


ASSESSMENT = {
    "novelty": "high",
    "inventive_step": "medium",
    "market_potential": "high",
    "trl": 4,
    "recommendation": "invention-patent",
    "notes": "检索未见相同方案。",
}


def _to_assessed(client: TestClient, ledger: Ledger) -> int:
    ident = _draft(client, ledger)
    assert _step(client, ident, "submitted", "inventor").json()["status"] == "submitted"
    assert _step(client, ident, "under-assessment", "officer_a").status_code == 200
    done = client.post(
        f"{BASE}/{ident}/assessment", json=ASSESSMENT, headers=_api(client, "officer_a")
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "assessed"
    return ident


def test_a_filing_decision_creates_the_asset_with_the_same_inventors_and_shares(
    client: TestClient, ledger: Ledger, database: Any
) -> None:
    with database.unit_of_work() as session:
        result = factories.result(session, owner="IP-ORG-A")
        result_id = result.id
    ident = _draft(client, ledger, result_id=result_id)
    _step(client, ident, "submitted", "inventor")
    _step(client, ident, "under-assessment", "officer_a")
    client.post(f"{BASE}/{ident}/assessment", json=ASSESSMENT, headers=_api(client, "officer_a"))
    decided = client.post(
        f"{BASE}/{ident}/decision",
        json={"decision": "file", "asset_kind": "invention-patent", "filed_on": "2025-01-10"},
        headers=_api(client, "officer_a"),
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["decision"], body["asset_kind"]) == (
        "decided",
        "file",
        "invention-patent",
    )
    asset = client.get(
        f"/api/v1/ip/assets/{body['asset_id']}", headers=_api(client, "officer_a")
    ).json()
    assert asset["result_id"] == result_id and asset["status"] == "filed"
    assert asset["filed_on"] == "2025-01-10"
    assert [(c["name"], c["weight"], c["main"], c["person_id"]) for c in asset["contributors"]] == [
        ("王发明", "60", True, ledger.person),
        ("李协作", "40", False, None),
    ]
    # The inventor follows the disclosure to the asset they now contribute to.
    mine = client.get(f"/api/v1/ip/assets/{body['asset_id']}", headers=_api(client, "inventor"))
    assert mine.status_code == 200


def test_keeping_it_secret_creates_a_technical_secret_and_releasing_creates_nothing(
    client: TestClient, ledger: Ledger, database: Any
) -> None:
    officer = _api(client, "officer_a")
    secret, released = _to_assessed(client, ledger), _to_assessed(client, ledger)
    kept = client.post(
        f"{BASE}/{secret}/decision", json={"decision": "keep-secret"}, headers=officer
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["asset_kind"] == "technical-secret"
    gone = client.post(f"{BASE}/{released}/decision", json={"decision": "release"}, headers=officer)
    assert gone.json()["asset_id"] is None
    with database.unit_of_work(write=False) as session:
        kinds = session.scalars(select(IpAsset.kind).order_by(IpAsset.id)).all()
    assert kinds == ["invention-patent", "technical-secret"]  # the ledger's own asset first
    twice = client.post(f"{BASE}/{secret}/decision", json={"decision": "drop"}, headers=officer)
    assert twice.status_code == 409


def test_a_filing_decision_needs_the_kind_to_file(client: TestClient, ledger: Ledger) -> None:
    ident = _to_assessed(client, ledger)
    refused = client.post(
        f"{BASE}/{ident}/decision", json={"decision": "file"}, headers=_api(client, "officer_a")
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["asset_kind"]
    again = client.get(f"{BASE}/{ident}", headers=_api(client, "officer_a")).json()
    assert again["status"] == "assessed"


@pytest.mark.parametrize(("shares", "total"), [(("60", "30"), "90"), (("60", "40.01"), "100.01")])
def test_shares_must_sum_to_exactly_100_and_nothing_is_written(
    client: TestClient, ledger: Ledger, database: Any, shares: tuple[str, str], total: str
) -> None:
    body = _body()
    for contributor, share in zip(body["contributors"], shares, strict=True):
        contributor["share"] = share
    response = client.post(
        BASE, json=body, headers={**_api(client, "inventor"), "Accept-Language": "zh"}
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["contributors"]
    assert f"{total}%" in errors[0]["message"] and "100%" in errors[0]["message"]
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Disclosure)) == 0


def test_a_forbidden_step_answers_409_naming_the_allowed_ones_in_both_languages(
    client: TestClient, ledger: Ledger
) -> None:
    ident = _draft(client, ledger)
    officer = _api(client, "officer_a")
    for language, allowed in (("en", "it can become: submitted, withdrawn"), ("zh", "可以变为")):
        refused = client.post(
            f"{BASE}/{ident}/transitions",
            json={"status": "under-assessment"},
            params={"lang": language},
            headers=officer,
        )
        assert refused.status_code == 409
        assert allowed in refused.json()["detail"]
    early = client.post(f"{BASE}/{ident}/assessment", json=ASSESSMENT, headers=officer)
    assert early.status_code == 409
    _step(client, ident, "submitted", "inventor")
    _step(client, ident, "under-assessment", "officer_a")
    assert _step(client, ident, "withdrawn", "inventor").status_code == 409


def test_the_author_withdraws_and_a_draft_alone_changes(client: TestClient, ledger: Ledger) -> None:
    ident = _draft(client, ledger)
    inventor = _api(client, "inventor")
    changed = client.patch(f"{BASE}/{ident}", json={"title": "改后的标题"}, headers=inventor)
    assert changed.status_code == 200 and changed.json()["title"] == "改后的标题"
    _step(client, ident, "submitted", "inventor")
    late = client.patch(f"{BASE}/{ident}", json={"title": "再改"}, headers=inventor)
    assert late.status_code == 409
    assert _step(client, ident, "withdrawn", "inventor").json()["status"] == "withdrawn"
    assert _step(client, ident, "submitted", "inventor").status_code == 409


def _named(database: Any, ledger: Ledger, ident: int) -> tuple[str, list[tuple[int, str]]]:
    """The persons kept on the disclosure and its inventors' rows (position, name)."""
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        disclosure = session.get_one(Disclosure, ident)
        return disclosure.named_person_ids, [(c.position, c.name) for c in disclosure.contributors]


def test_changing_a_drafts_inventors_replaces_them_and_the_persons_named(
    client: TestClient, ledger: Ledger, database: Any
) -> None:
    ident = _draft(client, ledger)
    assert _named(database, ledger, ident) == (f",{ledger.person},", [(0, "王发明"), (1, "李协作")])
    with database.unit_of_work() as session:
        other = factories.person(session, name="赵合作").id
    two = [{"person_id": other, "share": "50"}, {"person_id": ledger.person, "share": "50"}]
    three = [{"name": n, "share": s} for n, s in (("甲", "30"), ("乙", "30"), ("丙", "40"))]
    low, high = sorted((other, ledger.person))
    for inventors, named, names in (
        (two, f",{low},{high},", ["赵合作", "王发明"]),  # rows changed in place
        (three, "", ["甲", "乙", "丙"]),  # one more row, nobody linked
        ([{"person_id": other, "share": "100"}], f",{other},", ["赵合作"]),  # two fewer
    ):
        changed = client.patch(
            f"{BASE}/{ident}", json={"contributors": inventors}, headers=_api(client, "inventor")
        )
        assert changed.status_code == 200, changed.text
        assert _named(database, ledger, ident) == (named, list(enumerate(names)))


def test_researchers_neither_assess_nor_decide_nor_take_up(
    client: TestClient, ledger: Ledger
) -> None:
    ident = _draft(client, ledger)
    _step(client, ident, "submitted", "inventor")
    assert _step(client, ident, "under-assessment", "inventor").status_code == 403
    _step(client, ident, "under-assessment", "officer_a")
    refused = client.post(
        f"{BASE}/{ident}/assessment", json=ASSESSMENT, headers=_api(client, "inventor")
    )
    assert refused.status_code == 403


def test_only_the_units_officers_and_its_own_researchers_see_a_disclosure(
    client: TestClient, ledger: Ledger
) -> None:
    ident = _draft(client, ledger, who="officer_a")  # names the inventor's person
    for who in ("officer_a", "admin_a", "inventor"):
        headers = _api(client, who)
        assert client.get(f"{BASE}/{ident}", headers=headers).status_code == 200
        assert client.get(BASE, headers=headers).json()["total"] == 1
    for who in ("officer_b", "researcher_a"):
        headers = _api(client, who)
        missing = client.get(f"{BASE}/{ident}", headers=headers)
        assert missing.status_code == 404
        assert missing.json() == client.get(f"{BASE}/999999", headers=headers).json()
        assert client.get(BASE, headers=headers).json() == {
            "items": [],
            "total": 0,
            "limit": 20,
            "offset": 0,
        }
    assert client.get(f"{BASE}/{ident}").status_code == 401
    # The inventor sees it but did not write it: no changes, no steps.
    inventor = _api(client, "inventor")
    assert client.patch(f"{BASE}/{ident}", json={"title": "x"}, headers=inventor).status_code == 403
    assert _step(client, ident, "submitted", "inventor").status_code == 403
    seen = client.get(f"{BASE}/{ident}", headers=inventor).json()
    assert seen["next_statuses"] == [] and seen["hidden_fields"] == ["assessment"]


def test_a_unit_member_without_a_disclosing_role_cannot_create(
    client: TestClient, ledger: Ledger, database: Any
) -> None:
    auth.create_user(database, "ip-investor-a", memberships=[("IP-ORG-A", "investor")])
    headers = auth.bearer(auth.api_token(client, "ip-investor-a"))
    assert client.post(BASE, json=_body(), headers=headers).status_code == 403
    other = client.post(
        BASE, json=_body(owner_org_id=ledger.org_b), headers=_api(client, "inventor")
    )
    assert other.status_code == 422
    assert [e["field"] for e in other.json()["errors"]] == ["owner_org_id"]


def test_an_old_public_disclosure_carries_a_novelty_warning(
    client: TestClient, ledger: Ledger
) -> None:
    old = (date.today() - timedelta(days=250)).isoformat()
    recent = (date.today() - timedelta(days=30)).isoformat()
    late = _draft(client, ledger, public_disclosure_on=old, conceived_on="2020-01-01")
    soon = _draft(client, ledger, public_disclosure_on=recent, conceived_on="2020-01-01")
    headers = {**_api(client, "inventor"), "Accept-Language": "zh"}
    late_warnings = client.get(f"{BASE}/{late}", headers=headers).json()["novelty_warnings"]
    assert "宽限期" in late_warnings[0] and "第二十四条" in late_warnings[1]
    soon_warnings = client.get(f"{BASE}/{soon}", headers=headers).json()["novelty_warnings"]
    assert soon_warnings and "宽限期" not in soon_warnings[0]
    future = client.post(
        BASE,
        json=_body(public_disclosure_on=(date.today() + timedelta(days=3)).isoformat()),
        headers=_api(client, "inventor"),
    )
    assert [e["field"] for e in future.json()["errors"]] == ["public_disclosure_on"]


def test_every_change_is_an_audit_event(client: TestClient, ledger: Ledger, database: Any) -> None:
    ident = _to_assessed(client, ledger)
    with database.unit_of_work(write=False) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_kind == "ip_disclosure", AuditEvent.entity_id == ident)
            .order_by(AuditEvent.seq)
        ).all()
    assert [e.action for e in events] == ["create", "update", "update", "update"]
    assert events[0].actor == "user:ip-inventor" and events[-1].actor == "user:ip-officer-a"
    assert "李协作" in (events[0].after or "")  # contributors are part of their disclosure
    assert '"assessed"' in (events[-1].after or "")

"""Sharing grants on a record's page: the owner's officers and admins give them (by name,
external ID or number) and withdraw them; the grantee then sees the record, and no longer
after; nobody else sees the section, and refusals are security events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shelfbridge.accounts.models import SecurityEvent, SharingGrant
from shelfbridge.core.audit import events_for
from tests import auth, factories


@dataclass(frozen=True)
class Scene:
    a: str  # university A, the owner
    e1: str  # enterprise E1, the grantee
    e1_name: str
    e1_id: int
    result: int  # A's partners result
    internal: int  # A's internal result
    demand: int  # E1's partners demand


@pytest.fixture
def scene(database: Any) -> Scene:
    with database.unit_of_work() as session:
        a = factories.organization(session, name="共享大学")
        e1 = factories.enterprise(session, name="共享科技一号")
        factories.enterprise(session, name="共享科技二号", external_id="SH-E2")
        result = factories.result(
            session, owner=a.external_id, confidentiality="partners", title="合作成果甲"
        )
        internal = factories.result(session, owner=a.external_id, confidentiality="internal")
        demand = factories.demand(session, e1.external_id, confidentiality="partners")
        built = Scene(
            a.external_id, e1.external_id, e1.name, e1.id, result.id, internal.id, demand.id
        )
    users = {
        "officer-a": (a.external_id, "tto_officer"),
        "admin-a": (a.external_id, "org_admin"),
        "researcher-a": (a.external_id, "researcher"),
        "user-e1": (e1.external_id, "enterprise_user"),
        "admin-e1": (e1.external_id, "org_admin"),
        "user-e2": ("SH-E2", "enterprise_user"),
    }
    for username, membership in users.items():
        auth.create_user(database, username, memberships=[membership])
    return built


def _browser(app: Any, username: str | None) -> TestClient:
    client = TestClient(app)
    if username is not None:
        auth.sign_in(client, username)
    return client


def _post(client: TestClient, path: str, data: dict[str, str] | None = None) -> Any:
    return client.post(path, data=auth.with_csrf(client, data or {}), follow_redirects=False)


def _live(database: Any, record_id: int) -> list[SharingGrant]:
    with database.unit_of_work(write=False) as session:
        return list(
            session.scalars(
                select(SharingGrant).where(
                    SharingGrant.record_id == record_id, SharingGrant.withdrawn_at.is_(None)
                )
            )
        )


def _denials(database: Any) -> list[SecurityEvent]:
    with database.unit_of_work(write=False) as session:
        return list(session.scalars(select(SecurityEvent).where(SecurityEvent.action == "denied")))


@pytest.mark.parametrize("named_by", ["external_id", "name", "number"])
def test_an_officer_shares_a_partners_result_and_the_grantee_then_sees_it(
    app: Any, database: Any, scene: Scene, named_by: str
) -> None:
    officer, grantee = _browser(app, "officer-a"), _browser(app, "user-e1")
    path = f"/results/{scene.result}"
    assert grantee.get(path).status_code == 404
    name = {"external_id": scene.e1, "name": scene.e1_name, "number": str(scene.e1_id)}[named_by]

    response = _post(officer, f"{path}/sharing", {"organization": name, "note": "保密协议 2026-3"})

    assert response.status_code == 303
    assert response.headers["location"] == f"{path}#sharing"
    page = officer.get(path).text
    assert 'id="sharing"' in page and scene.e1_name in page and "保密协议 2026-3" in page
    assert "officer-a" in page  # who gave it
    assert grantee.get(path).status_code == 200
    token = auth.api_token(TestClient(app), "user-e1")
    assert TestClient(app).get(f"/api/v1{path}", headers=auth.bearer(token)).status_code == 200
    (grant,) = _live(database, scene.result)
    with database.unit_of_work(write=False) as session:
        (event,) = events_for(session, "sharing_grant", grant.id)
        assert event.action == "create" and event.actor == "user:officer-a"
        assert json.loads(event.after or "{}")["grantee_org_id"] == scene.e1_id


def test_withdrawing_a_grant_hides_the_record_again_like_one_that_does_not_exist(
    app: Any, database: Any, scene: Scene
) -> None:
    officer, admin, grantee = (_browser(app, u) for u in ("officer-a", "admin-a", "user-e1"))
    path = f"/results/{scene.result}"
    _post(officer, f"{path}/sharing", {"organization": scene.e1})
    (grant,) = _live(database, scene.result)
    assert grantee.get(path).status_code == 200

    response = _post(admin, f"{path}/sharing/{grant.id}/withdraw")  # another officer of A

    assert response.status_code == 303
    assert _live(database, scene.result) == []
    hidden, absent = grantee.get(path), grantee.get("/results/999999")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text.replace(path, "") == absent.text.replace("/results/999999", "")
    assert "Not shared with any organisation." in officer.get(f"{path}?lang=en").text
    with database.unit_of_work(write=False) as session:
        actions = [e.action for e in events_for(session, "sharing_grant", grant.id)]
    assert actions == ["create", "update"]
    again = _post(admin, f"{path}/sharing/{grant.id}/withdraw")
    assert again.status_code == 404


def test_a_demand_is_shared_by_its_enterprise_s_admin(
    app: Any, database: Any, scene: Scene
) -> None:
    owner, other = _browser(app, "admin-e1"), _browser(app, "user-e2")
    path = f"/demands/{scene.demand}"
    assert 'id="sharing"' in owner.get(path).text
    # Its users write demands but do not share them (record.share: admins and officers).
    assert 'id="sharing"' not in _browser(app, "user-e1").get(path).text
    assert other.get(path).status_code == 404
    assert _post(owner, f"{path}/sharing", {"organization": "SH-E2"}).status_code == 303
    assert other.get(path).status_code == 200
    assert 'id="sharing"' not in other.get(path).text


@pytest.mark.parametrize("username", ["researcher-a", "user-e1"])
def test_who_sees_the_record_but_does_not_share_for_its_owner_never_sees_the_section(
    app: Any, database: Any, scene: Scene, username: str
) -> None:
    officer = _browser(app, "officer-a")
    _post(officer, f"/results/{scene.result}/sharing", {"organization": scene.e1})
    (grant,) = _live(database, scene.result)
    client = _browser(app, username)
    page = client.get(f"/results/{scene.result}")
    assert page.status_code == 200
    assert 'id="sharing"' not in page.text and "/sharing" not in page.text

    give = _post(client, f"/results/{scene.result}/sharing", {"organization": "SH-E2"})
    withdraw = _post(client, f"/results/{scene.result}/sharing/{grant.id}/withdraw")

    assert give.status_code == withdraw.status_code == 403
    assert [g.grantee_org_id for g in _live(database, scene.result)] == [scene.e1_id]
    reasons = [e.reason for e in _denials(database) if e.target_id == scene.result]
    assert len(reasons) == 2 and all("sharing" in r for r in reasons)


def test_others_get_the_same_404_as_for_a_missing_record_and_anonymous_must_sign_in(
    app: Any, database: Any, scene: Scene
) -> None:
    outsider = _browser(app, "user-e2")
    response = _post(outsider, f"/results/{scene.result}/sharing", {"organization": "SH-E2"})
    assert response.status_code == 404
    anonymous = _browser(app, None)
    response = _post(anonymous, f"/results/{scene.result}/sharing", {"organization": "SH-E2"})
    assert response.status_code == 401
    assert _live(database, scene.result) == []


def test_a_form_without_its_csrf_token_is_refused(app: Any, database: Any, scene: Scene) -> None:
    officer = _browser(app, "officer-a")
    response = officer.post(
        f"/results/{scene.result}/sharing", data={"organization": scene.e1}, follow_redirects=False
    )
    assert response.status_code == 403
    assert _live(database, scene.result) == []


@pytest.mark.parametrize(
    ("organization", "message"),
    [
        ("", "This field is required."),
        ("没有这个机构", "No organisation has the name, ID or external ID"),
        ("SH-SELF", "The owner sees its own records already."),
    ],
)
def test_a_grant_the_service_refuses_shows_the_page_again_with_the_problem(
    app: Any, database: Any, scene: Scene, organization: str, message: str
) -> None:
    officer = _browser(app, "officer-a")
    organization = scene.a if organization == "SH-SELF" else organization
    response = _post(
        officer, f"/results/{scene.result}/sharing?lang=en", {"organization": organization}
    )
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert _live(database, scene.result) == []


def test_sharing_twice_with_the_same_organisation_is_refused(
    app: Any, database: Any, scene: Scene
) -> None:
    officer = _browser(app, "officer-a")
    _post(officer, f"/results/{scene.result}/sharing", {"organization": scene.e1})
    response = _post(
        officer, f"/results/{scene.result}/sharing?lang=en", {"organization": scene.e1}
    )
    assert response.status_code == 422
    assert f"This record is already shared with {scene.e1_name}." in response.text
    assert len(_live(database, scene.result)) == 1


def test_only_partners_records_can_be_shared(app: Any, database: Any, scene: Scene) -> None:
    officer = _browser(app, "officer-a")
    page = officer.get(f"/results/{scene.internal}?lang=en").text
    assert 'id="sharing"' in page and 'action="/results/' not in page.split('id="sharing"')[1]
    response = _post(officer, f"/results/{scene.internal}/sharing", {"organization": scene.e1})
    assert response.status_code == 409
    assert _live(database, scene.internal) == []

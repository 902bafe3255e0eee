"""The JSON API of the registry: CRUD, filters, pagination and the problem+json shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories


def _seed(database: Any) -> dict[str, Any]:
    with database.unit_of_work() as session:
        uni = factories.organization(session, name="清华大学", region_code="110000")
        ent = factories.enterprise(session, region_code="440300")
        paper = factories.result(
            session, kind="paper", trl=2, owner=uni.external_id, title="面向储能的固态电解质研究"
        )
        patent = factories.result(
            session, kind="invention_patent", trl=6, contributors="张三:60;李四:40"
        )
        demand = factories.demand(session, ent.external_id)
        return {
            "uni": uni.id,
            "ent": ent.id,
            "paper": paper.id,
            "patent": patent.id,
            "demand": demand.id,
            "ent_ext": ent.external_id,
            "uni_ext": uni.external_id,
        }


def test_list_reports_items_and_total_with_limit_and_offset(client: Any, database: Any) -> None:
    _seed(database)
    body = client.get("/api/v1/results", params={"limit": 1, "offset": 1}).json()
    assert body["total"] == 2
    assert body["limit"] == 1 and body["offset"] == 1
    assert len(body["items"]) == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "paper"}, 1),
        ({"trl_min": 5}, 1),
        ({"trl_max": 5}, 1),
        ({"q": "固态电解质"}, 1),
        ({"kind": "standard"}, 0),
    ],
)
def test_result_filters_narrow_the_list(
    client: Any, database: Any, params: dict[str, Any], expected: int
) -> None:
    _seed(database)
    assert client.get("/api/v1/results", params=params).json()["total"] == expected


def test_demand_region_filter_includes_cities_inside_a_province(client: Any, database: Any) -> None:
    _seed(database)  # the demand sits in 440300 (Shenzhen)
    assert client.get("/api/v1/demands", params={"region": "440000"}).json()["total"] == 1
    assert client.get("/api/v1/demands", params={"region": "110000"}).json()["total"] == 0


def test_get_shows_references_money_as_text_and_contributors(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    demand = admin_api.get(f"/api/v1/demands/{ids['demand']}").json()
    assert demand["budget_min"] == "500000.00"
    assert demand["enterprise"]["external_id"] == ids["ent_ext"]
    patent = admin_api.get(f"/api/v1/results/{ids['patent']}").json()
    assert [(c["name"], c["share"]) for c in patent["contributors"]] == [
        ("张三", "60.00"),
        ("李四", "40.00"),
    ]


def test_create_update_delete_round_trip(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    created = admin_api.post(
        "/api/v1/demands",
        json={
            "enterprise": ids["ent_ext"],
            "title": "寻找污水处理膜材料",
            "description": "需要耐污染膜。",
            "budget_min": "100000",
            "budget_max": "200000.5",
            "industry": "n",
        },
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["budget_max"] == "200000.50" and record["industry"] == "N"
    assert created.headers["location"] == f"/api/v1/demands/{record['id']}"
    changed = admin_api.patch(f"/api/v1/demands/{record['id']}", json={"status": "closed"})
    assert changed.json()["status"] == "closed"
    assert admin_api.delete(f"/api/v1/demands/{record['id']}").status_code == 204
    assert admin_api.get(f"/api/v1/demands/{record['id']}").status_code == 404


def test_a_persons_research_profile_is_written_read_and_bounded(
    admin_api: Any, database: Any
) -> None:
    ids = _seed(database)
    created = admin_api.post(
        "/api/v1/people",
        json={
            "name": "王研究员",
            "organization": ids["uni_ext"],
            "profile": "研究方向：固态电池。",
        },
    )
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["profile"] == "研究方向：固态电池。"
    changed = admin_api.patch(f"/api/v1/people/{person['id']}", json={"profile": "钠离子电池"})
    assert changed.json()["profile"] == "钠离子电池"
    too_long = admin_api.patch(f"/api/v1/people/{person['id']}", json={"profile": "长" * 5001})
    assert too_long.status_code == 422
    assert {e["field"] for e in too_long.json()["errors"]} == {"profile"}
    assert admin_api.get(f"/api/v1/people/{person['id']}").json()["profile"] == "钠离子电池"


def test_the_people_list_finds_an_expert_by_name_or_by_profile(
    admin_api: Any, database: Any
) -> None:
    ids = _seed(database)
    for name, profile in (("王研究员", "研究方向：钠离子电池正极材料。"), ("李工", None)):
        body = {"name": name, "organization": ids["uni_ext"], "profile": profile}
        assert admin_api.post("/api/v1/people", json=body).status_code == 201

    def found(q: str) -> list[str]:
        items = admin_api.get("/api/v1/people", params={"q": q}).json()["items"]
        return sorted(p["name"] for p in items)

    assert found("钠离子") == ["王研究员"]
    assert found("李工") == ["李工"]
    assert found("固态电池") == []


def test_validation_errors_are_problem_json_with_every_field(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    response = admin_api.post(
        "/api/v1/demands",
        json={
            "enterprise": ids["uni_ext"],
            "title": "x",
            "description": "x",
            "budget_min": "900",
            "budget_max": "100",
            "region_code": "999999",
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    fields = {e["field"] for e in body["errors"]}
    assert {"enterprise", "region_code"} <= fields
    assert body["title"] == "校验未通过"  # Chinese by default
    # What the OpenAPI document states is checked first, every field at once.
    response = admin_api.post(
        "/api/v1/demands",
        json={"enterprise": "no spaces", "title": " ", "description": "x", "status": "gone"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"enterprise", "title", "status"}


def test_budget_order_is_checked_against_the_stored_other_end(
    admin_api: Any, database: Any
) -> None:
    ids = _seed(database)
    response = admin_api.patch(f"/api/v1/demands/{ids['demand']}", json={"budget_max": "1.00"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "budget_max"


def test_money_rejects_floats_and_fractions_of_a_fen(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    for bad in ("12.345", "abc", "-5"):
        response = admin_api.patch(f"/api/v1/demands/{ids['demand']}", json={"budget_min": bad})
        assert response.status_code == 422, bad
    response = admin_api.patch(f"/api/v1/demands/{ids['demand']}", json={"budget_min": 12.5})
    assert response.status_code == 422


def test_unknown_fields_are_refused(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    response = admin_api.patch(
        f"/api/v1/results/{ids['paper']}", json={"id": 99, "owner_org_id": 1}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"id", "owner_org_id"}


def test_missing_and_unknown_ids_answer_the_same_404(client: Any, database: Any) -> None:
    _seed(database)
    first = client.get("/api/v1/results/999999")
    second = client.get("/api/v1/organizations/888888")
    assert first.status_code == second.status_code == 404
    assert first.json() == second.json()


def test_english_messages_on_request(client: Any, database: Any) -> None:
    _seed(database)
    body = client.get("/api/v1/results/424242", params={"lang": "en"}).json()
    assert body["title"] == "Not found"


def test_organisation_that_owns_records_cannot_be_deleted(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    response = admin_api.delete(f"/api/v1/organizations/{ids['uni']}")
    assert response.status_code == 409
    assert admin_api.get(f"/api/v1/organizations/{ids['uni']}").status_code == 200


def test_duplicate_external_id_is_a_field_error(admin_api: Any, database: Any) -> None:
    ids = _seed(database)
    response = admin_api.post(
        "/api/v1/organizations",
        json={"external_id": ids["uni_ext"], "name": "重名", "kind": "university"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "external_id"


def test_openapi_documents_every_operation_with_problem_responses(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for kind in ("results", "demands", "organizations", "people"):
        assert set(spec["paths"][f"/api/v1/{kind}"]) == {"get", "post"}
        assert set(spec["paths"][f"/api/v1/{kind}/{{record_id}}"]) == {"get", "patch", "delete"}
        assert "422" in spec["paths"][f"/api/v1/{kind}"]["post"]["responses"]


def test_ids_beyond_what_the_databases_store_are_refused_not_a_server_error(client: Any) -> None:
    response = client.get("/api/v1/results/6694875892723490571692026101760")
    assert response.status_code == 422
    response = client.get("/api/v1/results", params={"owner_id": 2**70})
    assert response.status_code == 422
    # INTEGER ids are 32 bits on PostgreSQL (schemathesis found the 500 there).
    assert client.get(f"/api/v1/results/{2**31}").status_code == 422
    assert client.get(f"/api/v1/results/{2**31 - 1}").status_code == 404
    assert client.get(f"/results/{2**40}").status_code == 422


def test_an_unsupported_method_says_which_are_allowed(client: Any) -> None:
    response = client.request("TRACE", "/api/v1/demands")
    assert response.status_code == 405
    # Every method of the path, not only those of the first route on it (schemathesis' ST205).
    assert response.headers["allow"] == "GET, POST"

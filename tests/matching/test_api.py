"""The matching API: free text, a demand's and a result's matches, filters (region, city
cluster, TRL range, kinds) and the errors a caller gets for filters that cannot be right."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.matching.engine_support import (
    Tenants,
    build_tenants,
    engine,  # noqa: F401 - fixture
)


@pytest.fixture
def world(app: Any, database: Any, engine: Any) -> Tenants:  # noqa: F811
    built = build_tenants(database)
    with database.unit_of_work() as session:
        # Results of B (Beijing) at other TRLs, and two more organisations.
        for trl in (2, 8):
            factories.result(
                session,
                owner=built.ext["b"],
                title=f"锂电池负极硅碳材料{trl}",
                keywords=["锂电池"],
                trl=trl,
                kind="paper",
            )
        factories.organization(session, name="锂电池国家重点实验室", kind="state_key_lab")
    engine.rebuild()
    return built


@pytest.fixture
def api(app: Any, world: Tenants) -> TestClient:
    return TestClient(app)


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [h["external_id"] for h in response.json()["hits"]]


def test_free_text_match_returns_hits_with_explanations(api: TestClient, world: Tenants) -> None:
    response = api.get("/api/v1/match", params={"q": "锂电池正极材料", "top": 3})
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["target"] == "results"
    assert body["count"] == len(body["hits"]) <= 3
    first = body["hits"][0]
    assert first["external_id"] == world.external["result_public"]
    assert set(first) == {"target", "id", "external_id", "title", "score", "explanation"}
    assert set(first["explanation"]) == {"matched_terms", "passages", "signals", "expanded_terms"}
    assert first["explanation"]["matched_terms"]


def test_every_target_can_be_matched(api: TestClient, world: Tenants) -> None:
    for target in ("results", "demands", "people", "organizations"):
        response = api.get("/api/v1/match", params={"q": "锂电池", "target": target})
        assert response.status_code == 200, response.text
        assert response.json()["target"] == target
    demands = _ids(api.get("/api/v1/match", params={"q": "锂电池正极", "target": "demands"}))
    assert demands == [world.external["demand_public"]]  # the internal one is E1's


def test_region_and_city_cluster_filters(api: TestClient, world: Tenants) -> None:
    query = {"q": "锂电池"}
    zhejiang = _ids(api.get("/api/v1/match", params={**query, "region": "330000"}))
    assert zhejiang == [world.external["result_public"]]
    beijing = _ids(api.get("/api/v1/match", params={**query, "region": "110000"}))
    assert len(beijing) == 2 and world.external["result_public"] not in beijing
    delta = _ids(api.get("/api/v1/match", params={**query, "cluster": "yangtze_river_delta"}))
    assert delta == [world.external["result_public"]]
    both = api.get(
        "/api/v1/match", params={**query, "cluster": "yangtze_river_delta", "region": "110000"}
    )
    assert _ids(both) == []  # Beijing is not in the Yangtze River Delta
    jingjinji = _ids(api.get("/api/v1/match", params={**query, "cluster": "jingjinji"}))
    assert set(jingjinji) == set(beijing)


def test_trl_range_and_kind_filters(api: TestClient, world: Tenants) -> None:
    query = {"q": "锂电池"}
    low = api.get("/api/v1/match", params={**query, "trl_min": 1, "trl_max": 3})
    assert [h["title"] for h in low.json()["hits"]] == ["锂电池负极硅碳材料2"]
    high = api.get("/api/v1/match", params={**query, "trl_min": 5})
    assert [h["title"] for h in high.json()["hits"]] == ["锂电池负极硅碳材料8"]
    middle = _ids(api.get("/api/v1/match", params={**query, "trl_min": 4, "trl_max": 4}))
    assert middle == [world.external["result_public"]]
    papers = api.get("/api/v1/match", params={**query, "kind": "paper"})
    assert {h["title"][:8] for h in papers.json()["hits"]} == {"锂电池负极硅碳材"}


def test_malformed_filters_answer_422_and_unknown_references_match_nothing(
    api: TestClient, world: Tenants
) -> None:
    response = api.get(
        "/api/v1/match", params={"q": "锂电池", "kind": "spaceship", "org_kind": "castle"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in response.json()["errors"]} == {"kind", "org_kind"}
    assert "未知的取值“spaceship”" in response.text
    english = api.get("/api/v1/match", params={"q": "锂电池", "kind": "spaceship", "lang": "en"})
    assert "Unknown value “spaceship”." in english.text
    for params in (
        {"q": ""},
        {"q": "  "},
        {"q": "锂电池", "top": 0},
        {"q": "锂电池", "region": "33"},
    ):
        assert api.get("/api/v1/match", params=params).status_code == 422, params
    assert api.get("/api/v1/match").status_code == 422
    # Well-formed, but unknown to the reference data, or an empty range: like the registry's
    # list filters, they match nothing.
    for params in ({"region": "000000"}, {"cluster": "atlantis"}, {"trl_min": 6, "trl_max": 3}):
        assert _ids(api.get("/api/v1/match", params={"q": "锂电池", **params})) == [], params


def test_a_demand_matches_results_people_and_labs(api: TestClient, world: Tenants) -> None:
    demand = world.records["demand_public"]
    results = _ids(api.get(f"/api/v1/demands/{demand}/matches"))
    assert world.external["result_public"] in results
    assert world.external["result_internal"] not in results  # anonymous caller
    people = api.get(f"/api/v1/demands/{demand}/matches", params={"target": "people"})
    assert people.json()["target"] == "people"
    labs = api.get(f"/api/v1/demands/{demand}/matches", params={"target": "organizations"})
    kinds = {h["title"] for h in labs.json()["hits"]}
    assert "锂电池国家重点实验室" in kinds
    assert not any(title.startswith("匹配测试e") for title in kinds)  # enterprises are no labs
    refused = api.get(f"/api/v1/demands/{demand}/matches", params={"target": "demands"})
    assert refused.status_code == 422


def test_a_result_matches_demands_and_enterprises(api: TestClient, world: Tenants) -> None:
    result = world.records["result_public"]
    demands = _ids(api.get(f"/api/v1/results/{result}/matches"))
    assert demands == [world.external["demand_public"]]
    enterprises = api.get(f"/api/v1/results/{result}/matches", params={"target": "organizations"})
    titles = {h["title"] for h in enterprises.json()["hits"]}
    assert titles and all(title.startswith("匹配测试e") for title in titles)
    assert (
        api.get(f"/api/v1/results/{result}/matches", params={"target": "people"}).status_code == 422
    )


def test_matches_of_a_missing_record_are_404(api: TestClient, world: Tenants) -> None:
    assert api.get("/api/v1/demands/987654321/matches").status_code == 404
    assert api.get("/api/v1/results/987654321/matches").status_code == 404
    hidden = api.get(f"/api/v1/demands/{world.records['demand_internal']}/matches")
    assert hidden.status_code == 404
    assert hidden.json() == api.get("/api/v1/demands/987654321/matches").json()


def test_the_routes_are_in_the_openapi_document(api: TestClient, world: Tenants) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/match", "/api/v1/demands/{record_id}/matches"):
        assert "get" in paths[path]
        assert "404" in paths[path]["get"]["responses"]

"""The matching pages: the search page, the match sections of demands and results (loaded by
htmx), and the feedback forms. The engine is replaced by a deterministic stand-in
(``fake_matches``) that returns only records the caller may see."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import auth
from tests.matching.feedback_support import Call, Cast, build_cast, install_fake_matches

HTMX = {"HX-Request": "true"}


@pytest.fixture
def fake_matches(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    return install_fake_matches(monkeypatch)


@pytest.fixture
def cast(database: Any) -> Cast:
    return build_cast(database)


def browser(app: Any, username: str | None) -> TestClient:
    client = TestClient(app)
    if username:
        auth.sign_in(client, username)
    return client


def _form(client: TestClient, **fields: Any) -> dict[str, str]:
    return {**{k: str(v) for k, v in fields.items()}, "csrf_token": auth.csrf_token(client)}


def test_the_search_page_marks_the_matched_terms_and_explains_each_hit(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    client = browser(app, "user-e1")
    page = client.get("/match", params={"q": "低温电池"})
    assert page.status_code == 200
    html = page.text
    assert '<meta charset="utf-8">' in html
    assert "<mark>低温</mark>锂<mark>电池</mark>电解液添加剂" in html
    assert "使锂<mark>电池</mark>在零下二十度保持八成容量" in html  # a passage
    assert 'data-signal="lexical"' in html and "共同词语" in html and "语义相近" in html
    assert "扩展检索词" in html and "储能" in html
    assert 'name="source_kind" value="query"' in html  # E1 may give feedback
    assert fake_matches[0].text == "低温电池" and fake_matches[0].target == "results"
    anonymous = browser(app, None).get("/match", params={"q": "低温电池"}).text
    assert "<mark>电池</mark>" in anonymous
    assert 'action="/match/feedback"' not in anonymous


def test_the_search_page_without_a_query_asks_for_one_and_matches_nothing(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    page = browser(app, None).get("/match")
    assert page.status_code == 200
    assert "输入您要找的内容" in page.text
    assert fake_matches == []
    english = browser(app, None).get("/match?lang=en")
    assert "Type what you are looking for and press Search." in english.text
    assert 'href="/match"' in english.text  # the site navigation links to it


def test_filter_changes_answer_with_the_results_region_and_push_the_url(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    client = browser(app, "user-e1")
    response = client.get(
        "/match",
        params={"q": "低温", "target": "demands", "kind": "paper", "region": "440000"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "<html" not in response.text and "<mark>" in response.text
    assert (
        response.headers["HX-Push-Url"]
        == "/match?q=%E4%BD%8E%E6%B8%A9&target=demands&region=440000"
    )
    # The kind filter follows the target (demands have no kind) out of band.
    assert re.search(r'id="match-kind-filter" hx-swap-oob="true"', response.text)
    assert re.search(r'<select id="match-kind" name="kind" disabled>', response.text)
    call = fake_matches[-1]
    assert call.target == "demands"
    assert call.filters.region_prefixes == ("44",)
    assert call.filters.kinds == ()  # a result kind means nothing for demands


def test_the_filters_reach_the_matcher_checked(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    client = browser(app, None)
    client.get(
        "/match",
        params={
            "q": "电池",
            "kind": "invention_patent",
            "trl_min": "7",
            "trl_max": "3",
            "discipline": "材料科学",
            "cluster": "jingjinji",
            "region": "110000",
            "org_kind": "not-a-kind",
        },
    )
    filters = fake_matches[-1].filters
    assert filters.kinds == ("invention_patent",)
    assert (filters.trl_min, filters.trl_max) == (3, 7)
    assert filters.disciplines == ("材料科学",)
    assert filters.region_prefixes == ("11",)  # Beijing, inside the Jing-Jin-Ji cluster
    assert filters.org_kinds == ()


def test_a_demand_page_loads_its_matches_after_the_page(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    client = browser(app, "user-e1")
    demand = cast.ids["demand_e1"]
    page = client.get(f"/demands/{demand}")
    assert page.status_code == 200
    assert f'hx-get="/demands/{demand}/matches" hx-trigger="load"' in page.text
    assert f'hx-get="/demands/{demand}/feedback"' in page.text
    assert fake_matches == []  # the record page itself never waits for the matcher
    section = client.get(f"/demands/{demand}/matches", headers=HTMX)
    assert section.status_code == 200
    assert [c.target for c in fake_matches] == ["results", "people", "organizations"]
    assert all(c.source_kind == "demands" and c.source_id == demand for c in fake_matches)
    html = section.text
    assert "匹配的成果" in html and "专家" in html and "实验室与研究机构" in html
    assert f'id="fb-results-{cast.ids["result_a"]}"' in html
    assert 'name="source_kind" value="demands"' in html
    assert "技术阶段过早" in html  # the reason select
    # Neither a hidden record nor anything to give feedback with for others.
    assert "内部电池成果" not in html
    researcher = browser(app, "researcher-a").get(f"/demands/{demand}/matches").text
    assert 'action="/match/feedback"' not in researcher
    assert "企业用户可以对这些匹配结果记录反馈" in researcher


def test_a_result_page_shows_the_demands_and_enterprises_it_fits(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    client = browser(app, "officer-a")
    section = client.get(f"/results/{cast.ids['result_a']}/matches", headers=HTMX)
    assert section.status_code == 200
    assert [c.target for c in fake_matches] == ["demands", "organizations"]
    assert fake_matches[1].filters.org_kinds == ("enterprise",)
    plain = re.sub(r"</?mark>", "", section.text)
    assert "适配的需求" in plain and "寻求动力电池低温性能提升技术" in plain
    assert "内部低温需求" not in plain  # E1's internal demand


def test_matches_of_a_record_the_caller_cannot_see_answer_404(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    hidden = cast.ids["demand_e1_internal"]
    assert browser(app, "user-e2").get(f"/demands/{hidden}/matches").status_code == 404
    assert browser(app, None).get(f"/demands/{hidden}/matches").status_code == 404
    assert browser(app, "user-e2").get(f"/demands/{hidden}/feedback").status_code == 404
    assert fake_matches == []


def test_feedback_recorded_on_a_demand_reaches_the_results_owner_and_nobody_else(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    e1 = browser(app, "user-e1")
    result = cast.ids["result_a"]
    posted = e1.post(
        "/match/feedback",
        data=_form(
            e1,
            source_kind="demands",
            source_id=cast.ids["demand_e1"],
            matched_kind="results",
            matched_id=result,
            verdict="reason",
            reason="too_early_stage",
            comment="需要中试数据 canary-fb-91",
        ),
        headers=HTMX,
    )
    assert posted.status_code == 200, posted.text
    assert "您的反馈已记录。" in posted.text and "技术阶段过早" in posted.text
    assert f'id="fb-results-{result}"' in posted.text  # the widget replaces itself
    # E1 sees it on its next visit to the demand's matches.
    again = e1.get(f"/demands/{cast.ids['demand_e1']}/matches").text
    assert "您的反馈：" in again and "需要中试数据 canary-fb-91" in again

    received = browser(app, "officer-a").get(f"/results/{result}/feedback")
    assert received.status_code == 200
    assert "需要中试数据 canary-fb-91" in received.text and "一号电池公司" in received.text
    assert "寻求动力电池低温性能提升技术" in received.text  # where it came from
    for who in ("user-e2", "officer-b", "researcher-a"):
        other = browser(app, who).get(f"/results/{result}/feedback")
        assert other.status_code == 200, who
        assert "canary-fb-91" not in other.text, who
        assert "没有您可查看的反馈" in other.text, who
        page = browser(app, who).get(f"/results/{result}")
        assert "canary-fb-91" not in page.text, who


def test_a_reason_must_be_chosen_and_the_form_says_so(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    e1 = browser(app, "user-e1")
    fields = {
        "source_kind": "demands",
        "source_id": cast.ids["demand_e1"],
        "matched_kind": "results",
        "matched_id": cast.ids["result_a"],
        "verdict": "reason",
        "reason": "",
    }
    response = e1.post("/match/feedback", data=_form(e1, **fields), headers=HTMX)
    assert response.status_code == 422
    assert "请先选择原因。" in response.text
    bogus = e1.post(
        "/match/feedback?lang=en",
        data=_form(e1, **{**fields, "reason": "too_cheap"}),
        headers=HTMX,
    )
    assert bogus.status_code == 422
    assert "“too_cheap” is not a known verdict" in bogus.text


def test_without_htmx_the_forms_work_and_return_to_the_page(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    e1 = browser(app, "user-e1")
    back = f"/demands/{cast.ids['demand_e1']}"
    fields = {
        "source_kind": "demands",
        "source_id": cast.ids["demand_e1"],
        "matched_kind": "people",
        "matched_id": cast.ids["person_a"],
        "verdict": "interest",
        "next": back,
    }
    response = e1.post("/match/feedback", data=_form(e1, **fields), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == back
    listed = e1.get(f"/demands/{cast.ids['demand_e1']}/feedback").text
    ident = re.search(r'data-feedback="(\d+)"', listed)
    assert ident and "有意向" in listed
    deleted = e1.post(
        f"/match/feedback/{ident.group(1)}/delete",
        data=_form(e1, next=back),
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == back
    assert "有意向" not in e1.get(f"/demands/{cast.ids['demand_e1']}/feedback").text
    offsite = e1.post(
        "/match/feedback",
        data=_form(e1, **{**fields, "next": "//evil.example"}),
        follow_redirects=False,
    )
    assert offsite.headers["location"] == "/"


def test_people_and_organisations_show_the_feedback_they_received(
    app: Any, cast: Cast, fake_matches: list[Call]
) -> None:
    e1 = browser(app, "user-e1")
    for kind, ident in (("people", cast.ids["person_a"]), ("organizations", cast.orgs["a"])):
        fields = {
            "source_kind": "demands",
            "source_id": cast.ids["demand_e1"],
            "matched_kind": kind,
            "matched_id": ident,
            "verdict": "interest",
            "comment": f"想合作 canary-{kind}",
        }
        assert e1.post("/match/feedback", data=_form(e1, **fields), headers=HTMX).status_code == 200
        page = browser(app, "admin-a").get(f"/{kind}/{ident}")
        assert f'hx-get="/{kind}/{ident}/feedback"' in page.text
        assert f"canary-{kind}" in browser(app, "admin-a").get(f"/{kind}/{ident}/feedback").text
        for who in ("user-e2", "officer-b"):
            assert f"canary-{kind}" not in browser(app, who).get(f"/{kind}/{ident}/feedback").text


def test_the_search_page_and_a_demands_matches_run_on_the_real_engine(
    app: Any, cast: Cast, settings: Any, database: Any
) -> None:
    """No stand-in for the service: it ranks (with the tests' small embedder), and the page
    marks what it matched and shows only what the caller may see."""
    from tests.matching.engine_support import make_engine

    runtime = make_engine(settings, database)
    try:
        client = browser(app, "user-e1")
        page = client.get("/match", params={"q": "锂电池 电解液 低温"})
        assert page.status_code == 200, page.text
        assert f'data-id="{cast.ids["result_a"]}"' in page.text
        assert "<mark>" in page.text
        assert "内部电池成果" not in page.text  # A's internal result stays hidden from E1
        section = client.get(f"/demands/{cast.ids['demand_e1']}/matches", headers=HTMX)
        assert section.status_code == 200
        assert f'id="fb-results-{cast.ids["result_a"]}"' in section.text
        assert "内部电池成果" not in section.text
    finally:
        runtime.close()

"""The feedback forms of the matching pages, on the real engine: feedback is given from the
widget of a real hit (a demand's matching result, expert or lab), shown to its giver on the
next visit and to the owner of the matched record on its page, and to nobody else; the form
says what is missing, and works without htmx. The world and the engine are those of
test_pages.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.matching.engine_support import engine  # noqa: F401 - fixture
from tests.matching.feedback_support import (
    HTMX,
    Cast,
    add_match_world,
    build_cast,
    card,
    form,
    group,
    hit_ids,
    signed_in,
)


@pytest.fixture
def cast(app: Any, database: Any, engine: Any) -> Cast:  # noqa: F811
    return add_match_world(database, build_cast(database))


def _widget_fields(widget: str) -> dict[str, str]:
    """The hidden fields of a hit's feedback form, as the page gives them."""
    form_html = widget[widget.index('<form method="post" action="/match/feedback"') :]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form_html))
    fields.pop("csrf_token", None)
    return fields


def _matches(client: Any, demand: int) -> str:
    response = client.get(f"/demands/{demand}/matches", headers=HTMX)
    assert response.status_code == 200, response.text
    return str(response.text)


def test_feedback_recorded_on_a_demand_reaches_the_results_owner_and_nobody_else(
    app: Any, cast: Cast
) -> None:
    e1 = signed_in(app, "user-e1")
    demand, result = cast.ids["demand_e1"], cast.ids["result_a"]
    # The form of a real hit: the demand's best matching result.
    section = _matches(e1, demand)
    assert hit_ids(group(section, "results"))[0] == result
    fields = _widget_fields(card(section, "results", result))
    assert fields["source_kind"] == "demands" and fields["source_id"] == str(demand)
    assert (fields["matched_kind"], fields["matched_id"]) == ("results", str(result))
    posted = e1.post(
        "/match/feedback",
        data=form(
            e1,
            **fields,
            verdict="reason",
            reason="too_early_stage",
            comment="需要中试数据 canary-fb-91",
        ),
        headers=HTMX,
    )
    assert posted.status_code == 200, posted.text
    assert "您的反馈已记录。" in posted.text and "技术阶段过早" in posted.text
    assert f'id="fb-results-{result}"' in posted.text  # the widget replaces itself
    # E1 sees it on its next visit to the demand's matches, on that hit only.
    again = _matches(e1, demand)
    mine = card(again, "results", result)
    assert "您的反馈：" in mine and "需要中试数据 canary-fb-91" in mine
    assert again.count("canary-fb-91") == mine.count("canary-fb-91")

    received = signed_in(app, "officer-a").get(f"/results/{result}/feedback")
    assert received.status_code == 200
    assert "需要中试数据 canary-fb-91" in received.text and "一号电池公司" in received.text
    assert "寻求动力电池低温性能提升技术" in received.text  # where it came from
    for who in ("user-e2", "officer-b", "researcher-a"):
        other = signed_in(app, who).get(f"/results/{result}/feedback")
        assert other.status_code == 200, who
        assert "canary-fb-91" not in other.text, who
        assert "没有您可查看的反馈" in other.text, who
        page = signed_in(app, who).get(f"/results/{result}")
        assert "canary-fb-91" not in page.text, who
    # E2's view of the same matches (the demand is public) carries no trace of it.
    rival = _matches(signed_in(app, "user-e2"), demand)
    assert result in hit_ids(rival) and "canary-fb-91" not in rival and "您的反馈：" not in rival


def test_a_reason_must_be_chosen_and_the_form_says_so(app: Any, cast: Cast) -> None:
    e1 = signed_in(app, "user-e1")
    fields = _widget_fields(
        card(_matches(e1, cast.ids["demand_e1"]), "results", cast.ids["result_a"])
    )
    response = e1.post(
        "/match/feedback", data=form(e1, **fields, verdict="reason", reason=""), headers=HTMX
    )
    assert response.status_code == 422
    assert "请先选择原因。" in response.text
    bogus = e1.post(
        "/match/feedback?lang=en",
        data=form(e1, **fields, verdict="reason", reason="too_cheap"),
        headers=HTMX,
    )
    assert bogus.status_code == 422
    assert "“too_cheap” is not a known verdict" in bogus.text
    assert "您的反馈：" not in _matches(e1, cast.ids["demand_e1"])  # nothing was recorded


def test_without_htmx_the_forms_work_and_return_to_the_page(app: Any, cast: Cast) -> None:
    e1 = signed_in(app, "user-e1")
    demand, expert = cast.ids["demand_e1"], cast.ids["expert_a"]
    back = f"/demands/{demand}"
    section = _matches(e1, demand)
    assert hit_ids(group(section, "people"))[0] == expert  # the expert the demand asks for
    fields = {**_widget_fields(card(section, "people", expert)), "next": back}
    response = e1.post(
        "/match/feedback", data=form(e1, **fields, verdict="interest"), follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == back
    listed = e1.get(f"/demands/{demand}/feedback").text
    ident = re.search(r'data-feedback="(\d+)"', listed)
    assert ident and "有意向" in listed
    assert "有意向" in card(_matches(e1, demand), "people", expert)
    deleted = e1.post(
        f"/match/feedback/{ident.group(1)}/delete",
        data=form(e1, next=back),
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == back
    assert "有意向" not in e1.get(f"/demands/{demand}/feedback").text
    offsite = e1.post(
        "/match/feedback",
        data=form(e1, **{**fields, "next": "//evil.example"}, verdict="interest"),
        follow_redirects=False,
    )
    assert offsite.headers["location"] == "/"


def test_people_and_organisations_show_the_feedback_they_received(app: Any, cast: Cast) -> None:
    e1 = signed_in(app, "user-e1")
    section = _matches(e1, cast.ids["demand_e1"])
    for kind, ident in (("people", cast.ids["expert_a"]), ("organizations", cast.orgs["a"])):
        assert ident in hit_ids(group(section, kind)), kind  # a real hit of the demand
        fields = _widget_fields(card(section, kind, ident))
        data = form(e1, **fields, verdict="interest", comment=f"想合作 canary-{kind}")
        assert e1.post("/match/feedback", data=data, headers=HTMX).status_code == 200
        page = signed_in(app, "admin-a").get(f"/{kind}/{ident}")
        assert f'hx-get="/{kind}/{ident}/feedback"' in page.text
        received = signed_in(app, "admin-a").get(f"/{kind}/{ident}/feedback").text
        assert f"canary-{kind}" in received
        for who in ("user-e2", "officer-b"):
            seen = signed_in(app, who).get(f"/{kind}/{ident}/feedback").text
            assert f"canary-{kind}" not in seen, who

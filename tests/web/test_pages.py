"""The registry's HTML pages: lists, filters, pagination, details, forms, delete, language."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shelfbridge.core.audit import events_for
from shelfbridge.registry.models import Demand, Result
from tests import auth, factories


def _seed(database: Any) -> dict[str, Any]:
    with database.unit_of_work() as session:
        uni = factories.organization(session, name="清华大学", region_code="110000")
        ent = factories.enterprise(session, name="深圳动力电池有限公司", region_code="440300")
        person = factories.person(session, name="王五", organization=uni.external_id)
        paper = factories.result(
            session,
            kind="paper",
            trl=2,
            owner=uni.external_id,
            title="面向储能的固态电解质研究",
            discipline="材料科学",
        )
        patent = factories.result(
            session,
            kind="invention_patent",
            trl=6,
            owner=uni.external_id,
            contributors=f"王五@{person.external_id}:60;李四:40",
            ipc_codes="H01M 10/0525",
        )
        demand = factories.demand(session, ent.external_id, title="寻求低温电池技术")
        return {
            "uni": uni.id,
            "uni_ext": uni.external_id,
            "ent": ent.id,
            "ent_ext": ent.external_id,
            "person": person.id,
            "paper": paper.id,
            "patent": patent.id,
            "demand": demand.id,
        }


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-id="(\d+)">', html)


def _field_block(html: str, name: str) -> str:
    """The markup of one form field, from its wrapper to the next field."""
    start = html.index(f'data-field="{name}"')
    following = html.find('class="form-field', start + 1)
    return html[start : following if following != -1 else len(html)]


def _demand_form(ent_ext: str, **changes: str) -> dict[str, str]:
    form = {
        "external_id": "",
        "enterprise": ent_ext,
        "title": "寻求高精度传感器技术",
        "description": "需要精度达到千分之一的压力传感器。",
        "industry": "C",
        "region_code": "440300",
        "budget_min": "100000",
        "budget_max": "300000.50",
        "deadline": "2027-12-31",
        "confidentiality": "public",
        "status": "open",
    }
    form.update(changes)
    return form


# ---------------------------------------------------------------- lists
def test_results_list_shows_every_result_with_the_total(client: Any, database: Any) -> None:
    ids = _seed(database)
    response = client.get("/results")
    assert response.status_code == 200
    assert 'data-total="2"' in response.text
    assert set(_rows(response.text)) == {str(ids["paper"]), str(ids["patent"])}
    assert "面向储能的固态电解质研究" in response.text
    assert f'href="/organizations/{ids["uni"]}"' in response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "paper"}, "paper"),
        ({"trl_min": "5"}, "patent"),
        ({"trl_max": "3"}, "paper"),
        ({"trl_min": "1", "trl_max": "9", "q": "固态"}, "paper"),
        ({"discipline": "材料科学"}, "paper"),
        ({"status": "available", "kind": "invention_patent"}, "patent"),
    ],
)
def test_result_filters_narrow_the_list(
    client: Any, database: Any, params: dict[str, str], expected: str
) -> None:
    ids = _seed(database)
    assert _rows(client.get("/results", params=params).text) == [str(ids[expected])]


def test_list_ignores_filter_values_that_cannot_match(client: Any, database: Any) -> None:
    _seed(database)
    response = client.get("/results", params={"trl_min": "12", "kind": "nonsense", "page": "x"})
    assert response.status_code == 200
    assert 'data-total="2"' in response.text


def test_filter_form_shows_the_chosen_values(client: Any, database: Any) -> None:
    _seed(database)
    html = client.get("/results", params={"kind": "paper", "trl_min": "2", "q": "固态"}).text
    assert '<option value="paper" selected>' in html
    assert '<option value="2" selected>' in html
    assert 'name="q" type="search" value="固态"' in html


def test_demand_list_filters_by_province_industry_and_status(client: Any, database: Any) -> None:
    ids = _seed(database)
    assert _rows(client.get("/demands", params={"region": "440000"}).text) == [str(ids["demand"])]
    assert _rows(client.get("/demands", params={"region": "110000"}).text) == []
    assert _rows(client.get("/demands", params={"industry": "C"}).text) == [str(ids["demand"])]
    assert _rows(client.get("/demands", params={"industry": "A"}).text) == []
    assert _rows(client.get("/demands", params={"status": "closed"}).text) == []


def test_demand_list_offers_the_provinces_from_the_regions_table(client: Any) -> None:
    html = client.get("/demands").text
    assert '<option value="440000">广东省</option>' in html
    assert '<option value="440300">' not in html  # cities are not provinces


def test_organization_list_filters_by_kind_and_region(client: Any, database: Any) -> None:
    ids = _seed(database)
    assert _rows(client.get("/organizations", params={"kind": "enterprise"}).text) == [
        str(ids["ent"])
    ]
    assert _rows(client.get("/organizations", params={"region": "110000"}).text) == [
        str(ids["uni"])
    ]


def test_people_list_filters_by_degree_and_organisation(client: Any, database: Any) -> None:
    ids = _seed(database)
    assert _rows(client.get("/people", params={"degree": "phd"}).text) == [str(ids["person"])]
    assert _rows(client.get("/people", params={"degree": "master"}).text) == []
    html = client.get("/people", params={"organization_id": ids["uni"]}).text
    assert _rows(html) == [str(ids["person"])]
    assert 'data-filter="organization_id"' in html and "清华大学" in html


def test_filter_by_owner_shows_a_removable_chip(client: Any, database: Any) -> None:
    ids = _seed(database)
    html = client.get("/results", params={"owner_id": ids["uni"], "kind": "paper"}).text
    assert _rows(html) == [str(ids["paper"])]
    assert 'data-filter="owner_id"' in html
    assert 'href="/results?kind=paper"' in html  # the chip's remove link keeps other filters


def test_pagination_splits_the_list_and_keeps_the_filters(client: Any, database: Any) -> None:
    with database.unit_of_work() as session:
        for n in range(25):
            factories.result(session, kind="paper", title=f"论文{n:02d}")
        factories.result(session, kind="standard")
    first = client.get("/results", params={"kind": "paper", "size": "10"}).text
    assert 'data-total="25"' in first
    assert len(_rows(first)) == 10
    assert 'href="/results?kind=paper&amp;size=10&amp;page=2"' in first
    assert 'href="/results?kind=paper&amp;size=10&amp;page=3"' in first
    third = client.get("/results", params={"kind": "paper", "size": "10", "page": "3"}).text
    assert len(_rows(third)) == 5
    assert '<span class="current" aria-current="page">3</span>' in third
    assert not set(_rows(first)) & set(_rows(third))


def test_a_page_past_the_end_shows_the_last_page(client: Any, database: Any) -> None:
    with database.unit_of_work() as session:
        for _ in range(12):
            factories.result(session)
    html = client.get("/results", params={"size": "10", "page": "99"}).text
    assert len(_rows(html)) == 2
    assert '<span class="current" aria-current="page">2</span>' in html


def test_htmx_request_gets_only_the_list_and_the_canonical_url(client: Any, database: Any) -> None:
    _seed(database)
    response = client.get(
        "/results?q=&kind=paper&status=&trl_min=&trl_max=", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "<table" in response.text
    assert response.headers["HX-Push-Url"] == "/results?kind=paper"
    assert "HX-Request" in response.headers["Vary"]
    # The language links follow the new URL (swapped out of band).
    assert 'hx-swap-oob="true"' in response.text
    assert 'href="/results?kind=paper&amp;lang=en"' in response.text


def test_list_page_wires_the_htmx_filter_form_and_indicator(client: Any) -> None:
    html = client.get("/results").text
    assert 'hx-get="/results"' in html and 'hx-push-url="true"' in html
    assert 'class="htmx-indicator' in html
    assert 'src="/static/vendor/htmx-2.0.11.min.js"' in html


def test_empty_list_says_so(client: Any) -> None:
    html = client.get("/results", params={"lang": "en", "kind": "paper"}).text
    assert "No results match these filters." in html


# ---------------------------------------------------------------- details
def test_result_detail_shows_labels_references_contributors_and_history(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    html = admin_client.get(f"/results/{ids['patent']}").text
    assert "发明专利" in html  # the kind's label, not its code
    assert "可转化" in html
    assert "相关环境中演示验证" in html  # TRL 6 label from reference_terms
    assert f'<a href="/organizations/{ids["uni"]}">清华大学</a>' in html
    assert f'<a href="/people/{ids["person"]}">王五</a>' in html
    assert "60.00%" in html and "40.00%" in html
    assert "H01M 10/0525" in html
    history = html[html.index('id="history"') :]
    assert "新建" in history and "system" in history


def test_result_detail_in_english_uses_english_labels(client: Any, database: Any) -> None:
    ids = _seed(database)
    html = client.get(f"/results/{ids['patent']}", params={"lang": "en"}).text
    assert "Invention patent" in html
    assert "Technology demonstrated in relevant environment" in html
    assert "Contributors" in html


def test_demand_detail_shows_the_industry_label_budget_and_enterprise(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    html = admin_client.get(f"/demands/{ids['demand']}").text
    assert "C · 制造业" in html
    assert "¥500,000.00" in html and "¥800,000.00" in html
    assert "2027-06-30" in html
    assert f'<a href="/organizations/{ids["ent"]}">深圳动力电池有限公司</a>' in html
    assert "深圳市" in html


def test_organization_detail_lists_what_belongs_to_it(client: Any, database: Any) -> None:
    ids = _seed(database)
    html = client.get(f"/organizations/{ids['uni']}").text
    owned = html[html.index('data-related="results"') :]
    assert "面向储能的固态电解质研究" in owned
    assert '<span class="count">2</span>' in owned
    people = html[html.index('data-related="people"') :]
    assert f'href="/people/{ids["person"]}"' in people


def test_person_detail_links_the_organisation(client: Any, database: Any) -> None:
    ids = _seed(database)
    html = client.get(f"/people/{ids['person']}").text
    assert f'<a href="/organizations/{ids["uni"]}">清华大学</a>' in html
    assert "博士" in html


def test_unknown_record_answers_an_html_404(client: Any) -> None:
    response = client.get("/results/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<meta charset="utf-8">' in response.text
    assert "所请求的记录不存在" in response.text


def test_non_numeric_id_is_not_found(client: Any) -> None:
    assert client.get("/results/abc").status_code == 404


# ---------------------------------------------------------------- create and edit
def test_creating_a_demand_redirects_to_its_page(admin_client: Any, database: Any) -> None:
    ids = _seed(database)
    response = admin_client.post(
        "/demands/new",
        data=auth.with_csrf(admin_client, _demand_form(ids["ent_ext"])),
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/demands/\d+", location)
    page = admin_client.get(location)
    assert "寻求高精度传感器技术" in page.text
    assert "已创建" in page.text  # the notice left by the redirect
    assert "已创建" not in admin_client.get(location).text  # shown once
    with database.unit_of_work(write=False) as session:
        demand = session.get(Demand, int(location.rsplit("/", 1)[1]))
        assert str(demand.budget_max) == "300000.50"
        assert demand.enterprise_id == ids["ent"]


def test_creating_a_result_takes_lists_and_contributors_as_text(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    form = {
        "external_id": "RES-FORM-1",
        "kind": "software_copyright",
        "title": "电池管理系统软件V1.0",
        "keywords": "电池管理; 软件",
        "ipc_codes": "G06F",
        "trl": "7",
        "owner": ids["uni_ext"],
        "contributors": "赵六:50;钱七:50",
        "confidentiality": "public",
        "status": "available",
    }
    response = admin_client.post(
        "/results/new", data=auth.with_csrf(admin_client, form), follow_redirects=False
    )
    assert response.status_code == 303
    with database.unit_of_work(write=False) as session:
        result = session.get(Result, int(response.headers["location"].rsplit("/", 1)[1]))
        assert result.keywords == ["电池管理", "软件"]
        assert [c.name for c in result.contributors] == ["赵六", "钱七"]
        assert result.owner_org_id == ids["uni"]


def test_demand_with_a_bad_budget_shows_the_message_next_to_the_field(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    response = admin_client.post(
        "/demands/new",
        data=auth.with_csrf(
            admin_client, _demand_form(ids["ent_ext"], budget_min="abc", title="新需求X")
        ),
    )
    assert response.status_code == 422
    block = _field_block(response.text, "budget_min")
    assert 'class="field-error"' in block
    assert "金额格式无效" in block
    assert 'aria-invalid="true"' in block
    assert 'value="abc"' in block  # what was typed stays in the field
    assert 'value="新需求X"' in response.text
    assert 'class="field-error"' not in _field_block(response.text, "title")
    with database.unit_of_work(write=False) as session:
        assert session.query(Demand).count() == 1  # nothing was written


def test_demand_with_minimum_above_maximum_marks_the_maximum(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    response = admin_client.post(
        "/demands/new",
        data=auth.with_csrf(
            admin_client, _demand_form(ids["ent_ext"], budget_min="900000", budget_max="100000")
        ),
        params={"lang": "en"},
    )
    assert response.status_code == 422
    block = _field_block(response.text, "budget_max")
    assert "The maximum budget is below the minimum budget." in block
    assert 'id="error-summary"' in response.text


def test_demand_for_an_organisation_that_is_not_an_enterprise_is_refused(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    response = admin_client.post(
        "/demands/new", data=auth.with_csrf(admin_client, _demand_form(ids["uni_ext"]))
    )
    assert response.status_code == 422
    assert "不是企业" in _field_block(response.text, "enterprise")


def test_missing_required_fields_are_each_marked(admin_client: Any) -> None:
    response = admin_client.post("/results/new", data=auth.with_csrf(admin_client, {"title": ""}))
    assert response.status_code == 422
    for name in ("kind", "title"):
        assert "此项为必填项" in _field_block(response.text, name)


def test_edit_form_shows_the_stored_values_in_the_import_format(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    html = admin_client.get(f"/results/{ids['patent']}/edit").text
    assert 'value="H01M 10/0525"' in html
    assert "王五@PER-T" in _field_block(html, "contributors")
    assert ":60.00;李四:40.00" in _field_block(html, "contributors")
    assert f'value="{ids["uni_ext"]}"' in html
    assert '<option value="6" selected>' in html


def test_editing_a_result_saves_and_records_the_change(admin_client: Any, database: Any) -> None:
    ids = _seed(database)
    form = admin_client.get(f"/results/{ids['paper']}/edit")
    assert form.status_code == 200
    values = {
        "external_id": "",
        "kind": "paper",
        "title": "面向储能的固态电解质研究（修订）",
        "trl": "3",
        "owner": ids["uni_ext"],
        "confidentiality": "public",
        "status": "available",
    }
    with database.unit_of_work(write=False) as session:
        values["external_id"] = session.get(Result, ids["paper"]).external_id
    response = admin_client.post(
        f"/results/{ids['paper']}/edit",
        data=auth.with_csrf(admin_client, values),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/results/{ids['paper']}"
    html = admin_client.get(f"/results/{ids['paper']}", params={"lang": "en"}).text
    assert "（修订）" in html
    history = html[html.index('id="history"') :]
    assert "Changed" in history and "Title" in history
    with database.unit_of_work(write=False) as session:
        actions = [e.action for e in events_for(session, "result", ids["paper"])]
    assert actions == ["create", "update"]


def test_an_invalid_edit_changes_nothing(admin_client: Any, database: Any) -> None:
    ids = _seed(database)
    response = admin_client.post(
        f"/demands/{ids['demand']}/edit",
        data=auth.with_csrf(
            admin_client,
            _demand_form(ids["ent_ext"], external_id="DEM-X", title="改名", deadline="2027-13-01"),
        ),
    )
    assert response.status_code == 422
    assert "应为日期" in _field_block(response.text, "deadline")
    with database.unit_of_work(write=False) as session:
        assert session.get(Demand, ids["demand"]).title == "寻求低温电池技术"


def test_new_form_takes_initial_values_from_the_query(admin_client: Any, database: Any) -> None:
    ids = _seed(database)
    html = admin_client.get("/demands/new", params={"enterprise": ids["ent_ext"]}).text
    assert f'value="{ids["ent_ext"]}"' in _field_block(html, "enterprise")


def test_form_offers_vocabularies_as_selects_and_enterprises_as_suggestions(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    html = admin_client.get("/demands/new").text
    assert '<select id="field-status" name="status">' in html
    assert '<option value="open" selected>' in html
    assert '<datalist id="dl-organizations-enterprise">' in html
    datalist = html[html.index('<datalist id="dl-organizations-enterprise">') :]
    datalist = datalist[: datalist.index("</datalist>")]
    assert ids["ent_ext"] in datalist and ids["uni_ext"] not in datalist


def test_organisation_suggestions_answer_a_typed_name(client: Any, database: Any) -> None:
    ids = _seed(database)
    html = client.get(
        "/organizations/options", params={"field": "enterprise", "enterprise": "深圳"}
    ).text
    assert f'<option value="{ids["ent_ext"]}">深圳动力电池有限公司</option>' in html
    only = client.get(
        "/organizations/options",
        params={"field": "enterprise", "only": "enterprise", "enterprise": "清华"},
    ).text
    assert "<option" not in only


# ---------------------------------------------------------------- delete
def test_delete_asks_for_confirmation_then_deletes(admin_client: Any, database: Any) -> None:
    ids = _seed(database)
    confirm = admin_client.get(f"/results/{ids['paper']}/delete")
    assert confirm.status_code == 200
    assert f'action="/results/{ids["paper"]}/delete"' in confirm.text
    response = admin_client.post(
        f"/results/{ids['paper']}/delete", data=auth.with_csrf(admin_client), follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/results"
    assert admin_client.get(f"/results/{ids['paper']}").status_code == 404
    assert "已删除" in admin_client.get("/results").text


def test_deleting_an_organisation_that_owns_results_is_refused(
    admin_client: Any, database: Any
) -> None:
    ids = _seed(database)
    response = admin_client.post(
        f"/organizations/{ids['uni']}/delete", data=auth.with_csrf(admin_client)
    )
    assert response.status_code == 409
    assert "该机构仍拥有成果或需求" in response.text
    assert admin_client.get(f"/organizations/{ids['uni']}").status_code == 200


# ---------------------------------------------------------------- language and markup
def test_chinese_is_the_default_and_the_switch_shows_english(client: Any, database: Any) -> None:
    _seed(database)
    assert "<h1>成果</h1>" in client.get("/results").text
    english = client.get("/results", params={"lang": "en"})
    assert "<h1>Results</h1>" in english.text
    assert '<html lang="en">' in english.text
    # The choice is remembered for the next page.
    assert "<h1>Demands</h1>" in client.get("/demands").text


def test_language_links_keep_the_path_and_query(client: Any, database: Any) -> None:
    ids = _seed(database)
    html = client.get("/results", params={"kind": "paper", "page": "1", "lang": "zh"}).text
    assert 'href="/results?kind=paper&amp;lang=en"' in html
    detail = client.get(f"/results/{ids['paper']}").text
    assert f'href="/results/{ids["paper"]}?lang=en"' in detail


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/results",
        "/demands",
        "/organizations",
        "/people",
        "/results/new",
        "/demands/new",
        "/organizations/new",
        "/people/new",
        "/import",
        "/results/{paper}",
        "/results/{paper}/edit",
        "/results/{paper}/delete",
        "/demands/{demand}",
        "/organizations/{uni}",
        "/people/{person}",
        "/results/424242",
    ],
)
def test_every_page_declares_utf8(client: Any, database: Any, path: str) -> None:
    ids = _seed(database)
    response = client.get(path.format(**ids))
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count('<meta charset="utf-8">') == 1
    for lang in ("en", "zh"):
        html = client.get(path.format(**ids), params={"lang": lang}).text
        assert html.startswith("<!doctype html>")

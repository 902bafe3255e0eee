"""What each kind of record gives the matcher: the text it is matched on and the attributes
filters and visibility look at; people's and organisations' text holds only public records."""

from __future__ import annotations

from typing import Any

from shelfbridge.matching.documents import load_documents
from shelfbridge.matching.types import Target
from tests import factories
from tests.matching.engine_support import CANARY, build_tenants


def _one(database: Any, target: Target, ident: int) -> Any:
    with database.unit_of_work(write=False) as session:
        (document,) = load_documents(session, target, [ident])
    return document


def test_a_result_is_matched_on_title_keywords_and_abstract_never_its_discipline(
    database: Any,
) -> None:
    with database.unit_of_work() as session:
        owner = factories.organization(session, kind="national_lab", region_code="330100")
        result = factories.result(
            session,
            owner=owner.external_id,
            title="钠离子电池",
            keywords=["储能"],
            abstract="层状氧化物正极。",
            discipline="材料科学与工程",
            trl=6,
            confidentiality="internal",
        )
    document = _one(database, Target.RESULTS, result.id)
    assert document.text == "钠离子电池\n储能\n层状氧化物正极。"
    assert "材料科学" not in document.text
    attributes = document.attributes
    assert (attributes.kind, attributes.trl, attributes.discipline) == (
        "invention_patent",
        6,
        "材料科学与工程",
    )
    assert (attributes.region_code, attributes.org_kind) == ("330100", "national_lab")
    assert (attributes.owner_org_id, attributes.confidentiality) == (owner.id, "internal")


def test_people_and_organisations_hold_only_public_text(database: Any) -> None:
    world = build_tenants(database)
    person = _one(database, Target.PEOPLE, world.records["person_a"])
    assert person.title == ""  # the name is not matched text
    assert "锂电池" in person.keywords
    assert "一种锂电池正极材料的制备方法" in person.body
    assert "博士" in person.body and "PhD" in person.body
    assert CANARY not in person.text
    university = _one(database, Target.ORGANIZATIONS, world.org["a"])
    assert university.title == "匹配测试a"
    assert "一种锂电池正极材料的制备方法" in university.body
    assert CANARY not in university.text
    enterprise = _one(database, Target.ORGANIZATIONS, world.org["e1"])
    assert "寻求锂电池正极材料技术" in enterprise.body
    assert CANARY not in enterprise.text
    assert (enterprise.attributes.kind, enterprise.attributes.org_kind) == (
        "enterprise",
        "enterprise",
    )


def test_a_demand_takes_its_enterprises_region_when_it_has_none(database: Any) -> None:
    with database.unit_of_work() as session:
        enterprise = factories.enterprise(session, region_code="320500")
        demand = factories.demand(session, enterprise.external_id, region_code=None)
    document = _one(database, Target.DEMANDS, demand.id)
    assert document.attributes.region_code == "320500"
    assert document.attributes.industry == "C"
    assert document.attributes.owner_org_id == enterprise.id


def test_missing_records_are_left_out(database: Any) -> None:
    with database.unit_of_work(write=False) as session:
        assert load_documents(session, Target.RESULTS, [987654]) == []


def test_a_persons_research_profile_is_matched_text(database: Any) -> None:
    """An expert without public results is found by the profile written for them; without
    profile, expertise, title or degree a person has no text and is not indexed."""
    with database.unit_of_work() as session:
        profiled = factories.person(session, degree=None, profile="主持深海防腐涂层长效服役研究。")
        bare = factories.person(session, degree=None)
    document = _one(database, Target.PEOPLE, profiled.id)
    assert document.body == "主持深海防腐涂层长效服役研究。"
    assert document.title == ""
    assert _one(database, Target.PEOPLE, bare.id).text.strip() == ""

"""The cast of the feedback and matching-page tests, and what the page tests read from a page.

Two universities A and B, two enterprises E1 and E2, one user per role that matters, and
records on both sides: A's results (public and internal), E1's demands (public and internal),
a person of A. :func:`add_match_world` gives the matching pages something to rank, on the
real engine (the test embedder of :mod:`tests.matching.engine_support`): more results about
low-temperature lithium batteries, an expert of A in them, and records on other topics that
share no word with them and must rank below them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tests import auth, factories

# user -> (organisation key, role); root is a platform admin, loner has no membership
USERS: dict[str, tuple[str, str] | None] = {
    "officer-a": ("a", "tto_officer"),
    "admin-a": ("a", "org_admin"),
    "researcher-a": ("a", "researcher"),
    "officer-b": ("b", "tto_officer"),
    "user-e1": ("e1", "enterprise_user"),
    "user-e2": ("e2", "enterprise_user"),
    "loner": None,
    "root": None,
}


@dataclass
class Cast:
    orgs: dict[str, int] = field(default_factory=dict)
    org_ext: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def batteries(self) -> set[int]:
        """The public battery results (after :func:`add_match_world`)."""
        return {self.ids["result_a"], *(self.ids[name] for name in BATTERIES)}

    def unrelated(self, kind: str) -> set[int]:
        """The records of ``kind`` (result, demand, expert) on other topics."""
        return {
            i for name, i in self.ids.items() if name.startswith((f"{kind}_wheat", f"{kind}_other"))
        }


def build_cast(database: Any) -> Cast:
    cast = Cast()
    with database.unit_of_work() as session:
        for key, make, name in (
            ("a", factories.organization, "甲大学"),
            ("b", factories.organization, "乙大学"),
            ("e1", factories.enterprise, "一号电池公司"),
            ("e2", factories.enterprise, "二号电池公司"),
        ):
            org = make(session, name=name)
            cast.orgs[key], cast.org_ext[key] = org.id, org.external_id
        a, e1 = cast.org_ext["a"], cast.org_ext["e1"]
        cast.ids["result_a"] = factories.result(
            session,
            owner=a,
            title="低温锂电池电解液添加剂",
            abstract="一种电解液添加剂，使锂电池在零下二十度保持八成容量。",
            trl=3,
            discipline="材料科学",
        ).id
        cast.ids["result_a_internal"] = factories.result(
            session, owner=a, confidentiality="internal", title="内部电池成果"
        ).id
        cast.ids["demand_e1"] = factories.demand(
            session, e1, title="寻求动力电池低温性能提升技术"
        ).id
        cast.ids["demand_e1_internal"] = factories.demand(
            session, e1, confidentiality="internal", title="内部低温需求"
        ).id
        cast.ids["person_a"] = factories.person(session, organization=a, name="王教授").id
    for username, membership in USERS.items():
        memberships = [(cast.org_ext[membership[0]], membership[1])] if membership else []
        auth.create_user(database, username, admin=username == "root", memberships=memberships)
    return cast


#: more low-temperature lithium battery results, each unlike A's public one (``result_a``:
#: an invention patent of Beijing, TRL 3, 材料科学) in one filter only
BATTERIES = {
    "result_paper": (
        "b",
        "低温锂电池负极材料研究",
        "硅碳负极在零下三十度的循环性能。",
        ["锂电池", "负极"],
        {"kind": "paper"},
    ),
    "result_trl8": (
        "b",
        "锂电池储能柜低温加热装置",
        "储能电站的锂电池在寒冷地区启动前预热。",
        ["锂电池", "储能"],
        {"trl": 8},
    ),
    "result_chemistry": (
        "b",
        "低温锂电池隔膜涂层",
        "陶瓷涂层隔膜在低温下保持离子电导。",
        ["锂电池", "隔膜"],
        {"discipline": "化学工程"},
    ),
    "result_shanghai": (
        "c",
        "低温锂电池快速充电方法",
        "零下二十度的脉冲充电策略。",
        ["锂电池", "快充"],
        {},
    ),
}

#: topics that share no word with low-temperature lithium batteries: (result title, abstract,
#: keywords; demand title, description; an expert's expertise)
UNRELATED = (
    (
        "抗旱小麦分子育种方法",
        "利用分子标记选育抗旱高产小麦新品种。",
        ["小麦", "育种"],
        "寻求小麦收割机械改进方案",
        "提高丘陵地区小麦收割效率。",
        ["小麦育种"],
    ),
    (
        "中药材重金属快速检测试剂盒",
        "十分钟内检出中药材中的铅和镉。",
        ["中药材", "检测"],
        "寻求中药饮片质量追溯方案",
        "饮片从种植到销售全程可查。",
        ["中药质量控制"],
    ),
    (
        "印染废水生物处理工艺",
        "用厌氧好氧组合工艺降解染料。",
        ["印染", "废水"],
        "寻求纺织污水回用技术",
        "把污水处理后回用于漂洗工序。",
        ["环境工程"],
    ),
    (
        "桥梁钢结构焊缝超声探伤装置",
        "自动扫查焊缝并识别裂纹。",
        ["桥梁", "探伤"],
        "寻求隧道衬砌裂缝巡检设备",
        "夜间自动巡检并标出裂缝位置。",
        ["结构健康监测"],
    ),
    (
        "茶叶智能揉捻机",
        "按叶片含水率调节揉捻压力。",
        ["茶叶", "农机"],
        "寻求茶园采摘机器人",
        "识别嫩芽并自动采摘。",
        ["茶叶加工"],
    ),
    (
        "城市供水管网漏损监测系统",
        "用压力波定位地下管道漏点。",
        ["供水", "管网"],
        "寻求老旧小区二次供水改造方案",
        "降低水箱污染风险。",
        ["给排水"],
    ),
)


def add_match_world(database: Any, cast: Cast) -> Cast:
    """What the matching pages rank: an expert of A in what E1's demand asks for; more battery
    results (of B, and of institute C in Shanghai); and records on other topics that must rank
    below every battery record: results and experts of D (an agricultural university), and
    E2's public demands (in Beijing, where E1's demands are in Shenzhen). The first unrelated
    record of each kind is named ``*_wheat``."""
    with database.unit_of_work() as session:
        for key, kind, name, region in (
            ("c", "research_institute", "丙研究院", "310000"),
            ("d", "university", "丁农业大学", "110000"),
        ):
            org = factories.organization(session, kind=kind, name=name, region_code=region)
            cast.orgs[key], cast.org_ext[key] = org.id, org.external_id
        cast.ids["expert_a"] = factories.person(
            session,
            organization=cast.org_ext["a"],
            name="李教授",
            expertise=["低温锂电池", "电解液"],
        ).id
        for name, (owner, title, abstract, keywords, changes) in BATTERIES.items():
            fields = {"trl": 3, "discipline": "材料科学", **changes}
            cast.ids[name] = factories.result(
                session,
                owner=cast.org_ext[owner],
                title=title,
                abstract=abstract,
                keywords=keywords,
                **fields,
            ).id
        for n, (title, abstract, keywords, need, description, expertise) in enumerate(UNRELATED):
            suffix = "_wheat" if n == 0 else f"_other{n}"
            cast.ids["result" + suffix] = factories.result(
                session,
                owner=cast.org_ext["d"],
                title=title,
                abstract=abstract,
                keywords=keywords,
                kind="plant_variety",
                trl=6,
                discipline="农学",
            ).id
            cast.ids["demand" + suffix] = factories.demand(
                session,
                cast.org_ext["e2"],
                title=need,
                description=description,
                region_code="110000",
            ).id
            cast.ids["expert" + suffix] = factories.person(
                session, organization=cast.org_ext["d"], expertise=expertise
            ).id
    return cast


# ---------------------------------------------------------------- reading the pages
HTMX = {"HX-Request": "true"}
_HIT = re.compile(r'<li class="hit card" data-target="(\w+)" data-id="(\d+)">')


def signed_in(app: Any, username: str | None) -> TestClient:
    """A client of the app, signed in as ``username`` (anonymous for None)."""
    client = TestClient(app)
    if username:
        auth.sign_in(client, username)
    return client


def form(client: TestClient, **fields: Any) -> dict[str, str]:
    return {**{k: str(v) for k, v in fields.items()}, "csrf_token": auth.csrf_token(client)}


def hit_ids(html: str, target: str | None = None) -> list[int]:
    """The record ids of the hit cards of a page, in the order shown."""
    return [int(i) for t, i in _HIT.findall(html) if target in (None, t)]


def card(html: str, target: str, record_id: int) -> str:
    """The hit card of one record (its explanation and feedback widget)."""
    start = html.index(f'<li class="hit card" data-target="{target}" data-id="{record_id}">')
    end = html.find('<li class="hit card"', start + 1)
    return html[start : end if end > 0 else len(html)]


def group(html: str, target: str) -> str:
    """One group of a record's match section (``results``, ``people``, …)."""
    found = re.search(rf'data-group="{target}">(.*?)</section>', html, re.S)
    assert found, f"no {target} group"
    return found.group(1)

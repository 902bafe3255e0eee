"""Demo invention disclosures for the two demo universities, one in each state of the
workflow short of a filing (a filing would add an asset to the ledger's demo), written by
``demo-researcher-a`` and handled by the universities' officers when those accounts exist
(else by the system). Illustrative, like the rest of the IP demo; loading again changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts.actor import SYSTEM
from shelfbridge.accounts.demo import UNIVERSITY_A, UNIVERSITY_B
from shelfbridge.ip import disclosure_decisions, disclosure_service
from shelfbridge.ip.demo import _actor, _org, acting_as
from shelfbridge.ip.disclosure_models import Disclosure

MARKER = "DISC-DEMO-001"
ASSESSMENT = {
    "novelty": "medium",
    "inventive_step": "medium",
    "market_potential": "low",
    "trl": 3,
    "recommendation": "publish",
    "notes": "方案已有较多公开文献，建议以论文形式发表。（示例）",
}
#: (external id, unit, title, inventors, the steps after the draft, extra fields)
DISCLOSURES: tuple[tuple[str, str, str, str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        MARKER,
        UNIVERSITY_A,
        "一种协作机器人末端柔顺控制方法（示例）",
        "示例发明人甲@PER-DEMO-IP-01:70:main\n示例发明人乙@PER-DEMO-IP-02:30",
        (),
        {"technical_field": "智能机器人"},
    ),
    (
        "DISC-DEMO-002",
        UNIVERSITY_A,
        "一种固态电解质膜的低温烧结工艺（示例）",
        "示例发明人甲@PER-DEMO-IP-01:50:main\n示例发明人丙@PER-DEMO-IP-03:50",
        ("submitted",),
        {"technical_field": "储能材料", "funding_source": "国家重点研发计划（示例）"},
    ),
    (
        "DISC-DEMO-003",
        UNIVERSITY_A,
        "一种基于视觉的焊缝缺陷在线识别方法（示例）",
        "示例发明人丙@PER-DEMO-IP-03:100:main",
        ("submitted", "under-assessment"),
        {"public_disclosure_note": "学术会议报告（示例）", "public_disclosure_days_ago": 60},
    ),
    (
        "DISC-DEMO-101",
        UNIVERSITY_B,
        "一种养殖尾水微藻净化装置（示例）",
        "示例发明人丁@PER-DEMO-IP-04:60:main\n示例发明人戊@PER-DEMO-IP-05:40",
        ("submitted", "under-assessment", "assessed"),
        {"technical_field": "水产养殖"},
    ),
    (
        "DISC-DEMO-102",
        UNIVERSITY_B,
        "一种海洋防腐涂层的简易检测卡（示例）",
        "示例发明人戊@PER-DEMO-IP-05:100:main",
        ("submitted", "under-assessment", "assessed", "decided"),
        {"technical_field": "海洋材料"},
    ),
)


def load(session: Session, today: date | None = None) -> int:
    """Create the demo disclosures unless they are there; returns how many were created."""
    if session.scalars(select(Disclosure.id).where(Disclosure.external_id == MARKER)).first():
        return 0
    today = today or date.today()
    researcher = _actor(session, "demo-researcher-a")
    created = 0
    for external_id, unit, title, inventors, steps, extra in DISCLOSURES:
        fields = {k: v for k, v in extra.items() if k != "public_disclosure_days_ago"}
        if "public_disclosure_days_ago" in extra:
            day = today - timedelta(days=extra["public_disclosure_days_ago"])
            fields["public_disclosure_on"] = day.isoformat()
        author = researcher if unit == UNIVERSITY_A and researcher is not None else SYSTEM
        officer = _actor(session, "demo-tto-a" if unit == UNIVERSITY_A else "demo-tto-b")
        with acting_as(author):
            disclosure = disclosure_service.create(
                session,
                {
                    **fields,
                    "external_id": external_id,
                    "owner_org_id": _org(session, unit).id,
                    "title": title,
                    "abstract": f"{title}：示例发明披露，内容为虚构。",
                    "conceived_on": (today - timedelta(days=400)).isoformat(),
                    "contributors": inventors,
                },
            )
            if "submitted" in steps:
                disclosure_service.transition(session, disclosure.id, "submitted")
        with acting_as(officer or SYSTEM):
            if "under-assessment" in steps:
                disclosure_service.transition(session, disclosure.id, "under-assessment")
            if "assessed" in steps:
                disclosure_decisions.assess(session, disclosure.id, ASSESSMENT)
            if "decided" in steps:
                decision = {"decision": "release", "notes": "权利交还发明人自行实施。（示例）"}
                disclosure_decisions.decide(session, disclosure.id, decision)
        created += 1
    return created

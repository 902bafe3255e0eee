"""The cast of the feedback and matching-page tests, and a stand-in for the matching engine.

Two universities A and B, two enterprises E1 and E2, one user per role that matters, and
records on both sides: A's results (public and internal), E1's demands (public and internal),
a person of A. ``fake_matches`` replaces :func:`shelfbridge.matching.pages.find_matches` with
a deterministic matcher over the records the caller may see, so the pages are tested apart
from the ranking (tests/matching of the engine test that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from shelfbridge.accounts.visibility import visible_clause
from shelfbridge.matching.types import Explanation, Hit, MatchFilters, Target
from shelfbridge.registry.models import DOMAIN_MODELS
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


def fake_hits(session: Any, target: Target, limit: int) -> list[Hit]:
    """Every record of the target the current actor may see, newest first, each with an
    explanation that names 电池 (battery) and 低温 (low temperature)."""
    model = DOMAIN_MODELS[target.value]
    records = session.scalars(
        select(model).where(visible_clause(model)).order_by(model.id.desc()).limit(limit)
    )
    hits = []
    for rank, record in enumerate(records):
        title = record.title if target in (Target.RESULTS, Target.DEMANDS) else record.name
        body = getattr(record, "abstract", None) or getattr(record, "description", None) or title
        hits.append(
            Hit(
                target=target,
                record_id=record.id,
                external_id=record.external_id,
                title=title,
                score=1.0 / (rank + 1),
                explanation=Explanation(
                    matched_terms=("电池", "低温"),
                    passages=(body,),
                    signals={"lexical": 2.5 / (rank + 1), "semantic": 0.8},
                    expanded_terms=("储能",),
                ),
            )
        )
    return hits


@dataclass(frozen=True)
class Call:
    source_kind: str
    source_id: int | None
    text: str | None
    target: str
    filters: MatchFilters


def install_fake_matches(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Replace the engine behind the pages; returns the calls it received."""
    from shelfbridge.matching import pages

    calls: list[Call] = []

    def find(
        session: Any,
        source: Any,
        target: Target,
        filters: MatchFilters,
        limit: int,
    ) -> list[Hit]:
        calls.append(Call(source.kind, source.id, source.text, target.value, filters))
        return fake_hits(session, target, limit)

    monkeypatch.setattr(pages, "find_matches", find)
    return calls

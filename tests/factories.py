"""Factories for test records, all in one place. Each goes through the real service."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from shelfbridge.registry import service

_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def organization(session: Session, **fields: Any) -> Any:
    n = _next()
    raw = {
        "external_id": f"ORG-T{n}",
        "name": f"测试大学{n}",
        "kind": "university",
        "region_code": "110000",
        **fields,
    }
    return service.create(session, "organizations", raw)


def enterprise(session: Session, **fields: Any) -> Any:
    n = _next()
    raw = {
        "external_id": f"ENT-T{n}",
        "name": f"测试科技有限公司{n}",
        "kind": "enterprise",
        "region_code": "440300",
        **fields,
    }
    return service.create(session, "organizations", raw)


def person(session: Session, **fields: Any) -> Any:
    n = _next()
    raw = {"external_id": f"PER-T{n}", "name": f"研究员{n}", "degree": "phd", **fields}
    return service.create(session, "people", raw)


def result(session: Session, **fields: Any) -> Any:
    n = _next()
    raw = {
        "external_id": f"RES-T{n}",
        "kind": "invention_patent",
        "title": f"一种高效锂电池正极材料的制备方法{n}",
        "abstract": "通过溶胶凝胶法制备正极材料。",
        "keywords": ["锂电池", "正极材料"],
        "trl": 4,
        **fields,
    }
    return service.create(session, "results", raw)


def demand(session: Session, enterprise_external_id: str, **fields: Any) -> Any:
    n = _next()
    raw = {
        "external_id": f"DEM-T{n}",
        "enterprise": enterprise_external_id,
        "title": f"寻求动力电池低温性能提升技术{n}",
        "description": "需要在零下二十度保持八成容量。",
        "industry": "C",
        "region_code": "440300",
        "budget_min": "500000.00",
        "budget_max": "800000.00",
        "deadline": "2027-06-30",
        **fields,
    }
    return service.create(session, "demands", raw)


# ---------------------------------------------------------------- IP ledger (ip/service.py)
def ip_asset(session: Session, owner_org_id: int, **fields: Any) -> Any:
    from shelfbridge.ip import service as ip_service

    n = _next()
    raw = {
        "owner_org_id": owner_org_id,
        "kind": "invention-patent",
        "title": f"一种固态电解质膜的制备方法{n}",
        "application_number": f"CN2023100{n:05d}.X",
        "filed_on": "2023-03-01",
        "contributors": [
            {"name": "甲", "weight": "3", "main": True},
            {"name": "乙", "weight": "1"},
        ],
        **fields,
    }
    return ip_service.create_asset(session, raw)


def ip_licence(session: Session, asset_id: int, **fields: Any) -> Any:
    """A signed non-exclusive licence, its price listed on a technology exchange."""
    from datetime import date

    from shelfbridge.ip import service as ip_service

    raw = {
        "deal_type": "licence",
        "counterparty_name": "某某新能源科技有限公司",
        "licence_scope": "non-exclusive",
        "term_start": "2024-01-01",
        "term_end": "2028-12-31",
        "territory": "中国大陆",
        "field_of_use": "动力电池",
        "price": "1000000.00",
        "payment_mode": "instalments",
        "price_mode": "listing",
        **fields,
    }
    deal = ip_service.create_deal(session, asset_id, raw)
    return ip_service.sign_deal(session, deal.id, date(2024, 1, 15), "HT-2024-001")


def ip_income(session: Session, deal_id: int, **fields: Any) -> Any:
    from shelfbridge.ip import service as ip_service

    raw = {
        "received_on": "2024-03-01",
        "amount": "100000.00",
        "deductions": [
            {"kind": "taxes", "amount": "6000.00"},
            {"kind": "direct-costs", "amount": "4000.00"},
        ],
        **fields,
    }
    return ip_service.record_income(session, deal_id, raw)

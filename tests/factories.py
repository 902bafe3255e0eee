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

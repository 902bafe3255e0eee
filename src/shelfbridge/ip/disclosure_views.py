"""A disclosure as plain data: what the API answers and the pages show. Labels are translated
in the current language. The assessment (scores and notes) is the office's working paper: only
those who manage the unit see it; the author and the inventors see the status and decision."""

from __future__ import annotations

from datetime import date
from typing import Any

from shelfbridge.core.i18n import translate
from shelfbridge.ip.disclosure_inputs import novelty_warnings
from shelfbridge.ip.disclosure_models import (
    CONFIDENTIALITY,
    DECISIONS,
    DISCLOSURE_STATUSES,
    RATINGS,
    RECOMMENDATIONS,
    Disclosure,
)
from shelfbridge.ip.disclosure_service import allowed_steps, is_author, manages
from shelfbridge.ip.models import ASSET_KINDS

ASSESSMENT_FIELDS = ("novelty", "inventive_step", "market_potential", "trl", "recommendation")


def _label(vocabulary: dict[str, str], code: str | None) -> str | None:
    return translate(vocabulary[code]) if code in vocabulary else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def assessment(record: Disclosure) -> dict[str, Any] | None:
    if record.assessed_on is None:
        return None
    return {
        "novelty": record.novelty,
        "novelty_label": _label(RATINGS, record.novelty),
        "inventive_step": record.inventive_step,
        "inventive_step_label": _label(RATINGS, record.inventive_step),
        "market_potential": record.market_potential,
        "market_potential_label": _label(RATINGS, record.market_potential),
        "trl": record.trl,
        "recommendation": record.recommendation,
        "recommendation_label": _label(RECOMMENDATIONS, record.recommendation),
        "notes": record.assessment_notes,
        "assessed_by": record.assessed_by,
        "assessed_on": _day(record.assessed_on),
    }


def disclosure(record: Disclosure, *, brief: bool = False) -> dict[str, Any]:
    """One disclosure as the current caller may see it (``brief``: for lists)."""
    office = manages(record)
    found: dict[str, Any] = {
        "id": record.id,
        "external_id": record.external_id,
        "owner_org_id": record.owner_org_id,
        "owner_name": record.owner.name if record.owner else None,
        "title": record.title,
        "status": record.status,
        "status_label": _label(DISCLOSURE_STATUSES, record.status),
        "status_on": _day(record.status_on),
        "submitted_on": _day(record.submitted_on),
        "confidentiality": record.confidentiality,
        "confidentiality_label": _label(CONFIDENTIALITY, record.confidentiality),
        "created_by": record.created_by,
        "decision": record.decision,
        "decision_label": _label(DECISIONS, record.decision),
        "asset_id": record.asset_id,
    }
    if brief:
        return found
    found.update(
        {
            "abstract": record.abstract,
            "technical_field": record.technical_field,
            "conceived_on": _day(record.conceived_on),
            "public_disclosure_on": _day(record.public_disclosure_on),
            "public_disclosure_note": record.public_disclosure_note,
            "funding_source": record.funding_source,
            "result_id": record.result_id,
            "contributors": [
                {
                    "name": c.name,
                    "person_id": c.person_id,
                    "share": f"{c.share:.2f}",
                    "main": c.main,
                }
                for c in record.contributors
            ],
            "novelty_warnings": novelty_warnings(record),
            "assessment": assessment(record) if office else None,
            "hidden_fields": [] if office else ["assessment"],
            "decision_notes": record.decision_notes if office else None,
            "decided_by": record.decided_by,
            "decided_on": _day(record.decided_on),
            "asset_kind": record.asset.kind if record.asset is not None else None,
            "asset_kind_label": _label(ASSET_KINDS, record.asset.kind) if record.asset else None,
            "next_statuses": [
                {"status": s, "label": _label(DISCLOSURE_STATUSES, s)}
                for s in allowed_steps(record)
            ],
            "editable": record.status == "draft" and is_author(record),
            "manages": office,
        }
    )
    return found

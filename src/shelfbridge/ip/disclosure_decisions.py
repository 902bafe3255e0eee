"""The office's part of a disclosure: the assessment, and the decision that files it (creating
the IP asset through the ledger's own service), keeps it secret, releases it to the inventors
or drops it. Never commits.

Both are steps of the workflow (``disclosure_models.DISCLOSURE_TRANSITIONS``): an assessment
moves a disclosure under assessment to "assessed", a decision an assessed one to "decided".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import Conflict
from shelfbridge.core.i18n import N_
from shelfbridge.core.models import new_external_id
from shelfbridge.ip import service
from shelfbridge.ip.disclosure_models import (
    DECISIONS,
    FILING_KINDS,
    RATINGS,
    RECOMMENDATIONS,
    Disclosure,
)
from shelfbridge.ip.disclosure_service import check_step, find
from shelfbridge.ip.inputs import Fields
from shelfbridge.ip.models import ASSET_KINDS

NOTES_LENGTH = 5000
#: the decisions that create an asset, and the kind of the asset when it is fixed
CREATES_ASSET = {"file": None, "keep-secret": "technical-secret"}


def _trl(fields: Fields) -> int | None:
    value = fields.raw.get("trl")
    if value is None or (isinstance(value, str) and not value.strip()):
        fields.problem("trl", N_("This field is required."))
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 9:
        fields.problem("trl", N_("The TRL is a whole number from 1 to 9."))
        return None
    return int(text)


def _step_day(fields: Fields, name: str, disclosure: Disclosure) -> date:
    day = fields.day(name) or date.today()
    if day < disclosure.status_on:
        fields.problem(
            name,
            N_("The day of a step cannot be before the previous step ({day})."),
            day=disclosure.status_on.isoformat(),
        )
    return day


def assess(session: Session, ident: int, raw: Mapping[str, Any]) -> Disclosure:
    """Record the office's assessment: under assessment → assessed."""
    disclosure = find(session, ident)
    check_step(disclosure, "assessed")
    session.refresh(disclosure, with_for_update=True)
    check_step(disclosure, "assessed")
    fields = Fields(raw)
    ratings = {
        name: fields.choice(name, RATINGS, required=True)
        for name in ("novelty", "inventive_step", "market_potential")
    }
    trl = _trl(fields)
    recommendation = fields.choice("recommendation", RECOMMENDATIONS, required=True)
    notes = fields.text("notes", max_length=NOTES_LENGTH)
    day = _step_day(fields, "assessed_on", disclosure)
    fields.done()
    for name, value in ratings.items():
        setattr(disclosure, name, value)
    disclosure.trl = trl
    disclosure.recommendation = recommendation
    disclosure.assessment_notes = notes
    disclosure.assessed_by = current_actor.get().label
    disclosure.assessed_on = day
    disclosure.status, disclosure.status_on = "assessed", day
    session.flush()
    return disclosure


def decide(session: Session, ident: int, raw: Mapping[str, Any]) -> Disclosure:
    """Record the filing decision: assessed → decided. Filing creates an asset of the chosen
    kind, keeping it secret a technical secret, each linked to the disclosure's result and
    with its inventors, their shares as weights."""
    disclosure = find(session, ident)
    check_step(disclosure, "decided")
    session.refresh(disclosure, with_for_update=True)
    check_step(disclosure, "decided")
    if disclosure.asset_id is not None:
        raise Conflict(N_("This disclosure already has its asset."))
    fields = Fields(raw)
    decision = fields.choice("decision", DECISIONS, required=True)
    kind = fields.choice("asset_kind", {k: ASSET_KINDS[k] for k in FILING_KINDS})
    if decision == "file" and kind is None and not fields.problems:
        fields.problem("asset_kind", N_("Choose what to file: the kind of the IP asset."))
    if decision not in (None, "file") and kind is not None:
        fields.problem("asset_kind", N_("Only a filing decision names the kind of asset."))
    number = fields.text("application_number", max_length=60)
    filed_on = fields.day("filed_on")
    if decision != "file" and (number or filed_on):
        fields.problem("filed_on", N_("Only a filing decision has an application."))
    notes = fields.text("notes", max_length=NOTES_LENGTH)
    day = _step_day(fields, "decided_on", disclosure)
    fields.done()
    assert decision is not None
    if decision in CREATES_ASSET:
        asset_kind = CREATES_ASSET[decision] or kind
        asset = service.create_asset(
            session,
            {
                "owner_org_id": disclosure.owner_org_id,
                "kind": asset_kind,
                "title": disclosure.title,
                "result_id": disclosure.result_id,
                "application_number": number,
                "filed_on": filed_on,
                "status_on": filed_on or day,
                "external_id": new_external_id("IP"),
                "contributors": [
                    {
                        "name": c.name,
                        "weight": c.share,
                        "main": c.main,
                        "person_id": c.person_id,
                    }
                    for c in disclosure.contributors
                ],
            },
        )
        disclosure.asset_id = asset.id
    disclosure.decision = decision
    disclosure.decision_notes = notes
    disclosure.decided_by = current_actor.get().label
    disclosure.decided_on = day
    disclosure.status, disclosure.status_on = "decided", day
    session.flush()
    return disclosure

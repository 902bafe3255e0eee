"""Notices of the patent office (审查意见通知书 and the like) on a unit's IP assets, and their
answers. The due day is the one on the notice, or else the usual period for its kind from
``reference/patent_deadline_rules.csv`` (unconfirmed there, so marked as estimated); the
deadlines (``ip/deadlines.py``) list the notices still unanswered. Never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.core.errors import BadRequest, Conflict, NotFound
from shelfbridge.core.i18n import N_
from shelfbridge.ip import repository, rules
from shelfbridge.ip.deadline_rules import builtin_book
from shelfbridge.ip.inputs import Fields
from shelfbridge.ip.models import OFFICE_ACTION_KINDS, PATENT_TYPE_OF, IpOfficeAction
from shelfbridge.ip.service import require_manager


def office_actions_of(session: Session, asset_id: int) -> list[IpOfficeAction]:
    statement = (
        select(IpOfficeAction)
        .where(IpOfficeAction.asset_id == asset_id, repository.managed_clause(IpOfficeAction))
        .order_by(IpOfficeAction.due_on, IpOfficeAction.id)
    )
    return list(session.scalars(statement))


def add_office_action(session: Session, asset_id: int, raw: Mapping[str, Any]) -> IpOfficeAction:
    """A notice of the patent office on one of the unit's assets. Without ``due_on`` the due
    day is the usual period for its kind (unconfirmed, marked as estimated)."""
    asset = repository.get_asset(session, asset_id)
    if asset is None:
        raise NotFound("ip_assets")
    require_manager(asset.owner_org_id)
    fields = Fields(raw)
    kind = fields.choice("kind", OFFICE_ACTION_KINDS, required=True)
    issued_on = fields.day("issued_on", required=True)
    due_on = fields.day("due_on")
    reference = fields.text("reference", max_length=60)
    note = fields.text("note", max_length=300)
    if issued_on and due_on and due_on < issued_on:
        fields.problem("due_on", N_("The answer is due after the notice is issued."))
    estimated = False
    if due_on is None and issued_on is not None and kind is not None:
        patent_type = PATENT_TYPE_OF.get(asset.kind, "invention")
        rule = builtin_book().response_period(kind, patent_type)
        if rule is None:
            fields.problem("due_on", N_("Give the day the answer is due."))
        else:
            due_on, estimated = rules.add_months(issued_on, rule.months), True
    fields.done()
    assert kind and issued_on and due_on
    action = IpOfficeAction(
        owner_org_id=asset.owner_org_id,
        asset_id=asset.id,
        kind=kind,
        issued_on=issued_on,
        due_on=due_on,
        due_estimated=estimated,
        reference=reference,
        note=note,
    )
    session.add(action)
    session.flush()
    return action


def respond_office_action(session: Session, action_id: int, on: date) -> IpOfficeAction:
    """Mark a notice as answered (once)."""
    action = repository.managed_or_missing(session, IpOfficeAction, action_id)
    require_manager(action.owner_org_id)
    if action.responded_on is not None:
        raise Conflict(
            N_("This notice was already answered on {day}."),
            day=action.responded_on.isoformat(),
        )
    if on < action.issued_on:
        raise BadRequest(N_("The answer is given after the notice is issued."))
    action.responded_on = on
    session.flush()
    return action

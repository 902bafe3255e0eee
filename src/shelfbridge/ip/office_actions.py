"""Notices of the patent office (审查意见通知书 and the like) on a unit's IP assets, and their
answers. The due day is the one on the notice, or else the usual period for its kind from
``reference/patent_deadline_rules.csv`` (marked as estimated), counted from the day the notice
was received: the day the party shows, or else the day it counts as received by how it was
delivered (a posted notice 15 days after it was sent, Implementing Rules Art. 4;
``reference/patent_service_rules.csv``). A period the office designated may be extended once,
on a request made before it ends (Art. 6(4); the longest extension and the fee are data).
The deadlines (``ip/deadlines.py``) list the notices still unanswered. Never commits.
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
from shelfbridge.ip.deadline_rules import FIXED_BY_LAW, OfficeFees, PeriodRule, builtin_book
from shelfbridge.ip.inputs import Fields
from shelfbridge.ip.models import (
    OFFICE_ACTION_DELIVERIES,
    OFFICE_ACTION_KINDS,
    PATENT_TYPE_OF,
    IpOfficeAction,
)
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
    day is the usual period for its kind from the day the notice was received (marked as
    estimated)."""
    asset = repository.get_asset(session, asset_id)
    if asset is None:
        raise NotFound("ip_assets")
    require_manager(asset.owner_org_id)
    fields = Fields(raw)
    kind = fields.choice("kind", OFFICE_ACTION_KINDS, required=True)
    issued_on = fields.day("issued_on", required=True)
    delivery = fields.choice("delivery", OFFICE_ACTION_DELIVERIES) or "electronic"
    received_on = fields.day("received_on")
    due_on = fields.day("due_on")
    reference = fields.text("reference", max_length=60)
    note = fields.text("note", max_length=300)
    if issued_on and due_on and due_on < issued_on:
        fields.problem("due_on", N_("The answer is due after the notice is issued."))
    if issued_on and received_on and received_on < issued_on:
        fields.problem("received_on", N_("A notice is received on or after the day it was sent."))
    estimated = False
    if due_on is None and issued_on is not None and kind is not None:
        patent_type = PATENT_TYPE_OF.get(asset.kind, "invention")
        rule = builtin_book().response_period(kind, patent_type)
        start = received_on or received_day(delivery, issued_on)
        if rule is None:
            fields.problem("due_on", N_("Give the day the answer is due."))
        else:
            due_on, estimated = rules.add_months(start, rule.months), True
    fields.done()
    assert kind and issued_on and due_on
    action = IpOfficeAction(
        owner_org_id=asset.owner_org_id,
        asset_id=asset.id,
        kind=kind,
        issued_on=issued_on,
        delivery=delivery,
        received_on=received_on,
        due_on=due_on,
        due_estimated=estimated,
        reference=reference,
        note=note,
    )
    session.add(action)
    session.flush()
    return action


def extension_rule(action: IpOfficeAction) -> PeriodRule | None:
    """The rule of the longest extension of this notice's period; None when the law sets the
    period (it cannot be extended) or the rules name none for the patent type."""
    if action.kind in FIXED_BY_LAW:
        return None
    return builtin_book().period("extension", PATENT_TYPE_OF.get(action.asset.kind, "invention"))


def extension_fee(action: IpOfficeAction) -> OfficeFees | None:
    """The fee the office charged for this notice's extension, if it was extended."""
    if not action.extended_months:
        return None
    return builtin_book().extension_fee(action.extended_months)


def extend_office_action(
    session: Session, action_id: int, raw: Mapping[str, Any]
) -> IpOfficeAction:
    """Record a request to extend the period of a notice by ``months`` (once, before it ends,
    at most the rules' longest extension); the due day moves by as many months."""
    action = _unanswered(session, action_id)
    if action.extended_from is not None:
        raise Conflict(
            N_("This period was already extended to {day}: the office extends a period once."),
            day=action.due_on.isoformat(),
        )
    rule = extension_rule(action)
    if rule is None:
        raise BadRequest(N_("The law sets this period: it cannot be extended (Art. 6(2))."))
    fields = Fields(raw)
    months = fields.whole("months", required=True, maximum=12)
    if months is not None and months > rule.months:
        fields.problem("months", N_("An extension is at most {months} months."), months=rule.months)
    today = date.today()
    requested_on = fields.day("requested_on") or today
    if requested_on > today:
        fields.problem("requested_on", N_("A request is recorded once it was made, not before."))
    elif requested_on > action.due_on:
        fields.problem(
            "requested_on",
            N_("An extension is requested before the period ends ({day}, Art. 6(4))."),
            day=action.due_on.isoformat(),
        )
    elif requested_on < action.issued_on:
        fields.problem("requested_on", N_("An extension is requested after the notice."))
    fields.done()
    assert months is not None
    action.extended_from = action.due_on
    action.extended_months = months
    action.extension_requested_on = requested_on
    action.due_on = rules.add_months(action.due_on, months)
    session.flush()
    return action


def received_day(delivery: str, sent_on: date) -> date:
    """The day a notice sent on ``sent_on`` counts as received when the party shows no other
    (Implementing Rules Art. 4): ``sent_on`` itself for a way of delivery the rules omit."""
    rule = builtin_book().service(delivery)
    return rule.received(sent_on) if rule is not None else sent_on


def _unanswered(session: Session, action_id: int) -> IpOfficeAction:
    """A notice the actor manages, still unanswered (409 once answered)."""
    action = repository.managed_or_missing(session, IpOfficeAction, action_id)
    require_manager(action.owner_org_id)
    if action.responded_on is not None:
        raise Conflict(
            N_("This notice was already answered on {day}."),
            day=action.responded_on.isoformat(),
        )
    return action


def respond_office_action(session: Session, action_id: int, on: date) -> IpOfficeAction:
    """Mark a notice as answered (once)."""
    action = _unanswered(session, action_id)
    if on < action.issued_on:
        raise BadRequest(N_("The answer is given after the notice is issued."))
    action.responded_on = on
    session.flush()
    return action

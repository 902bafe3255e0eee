"""Invention disclosures: who sees them, drafting, the workflow, the assessment and the filing
decision. Never commits (the request or command does, once).

Who: a researcher of the unit writes a disclosure, edits it while it is a draft, submits or
withdraws it, and sees the disclosures they wrote or are named in; the unit's officers and
admins (``ip.manage``) see and do everything with the unit's disclosures; nobody else sees them
(404, exactly as a disclosure that does not exist). Row-level security (migrations 0008 and
0012) holds the same line on PostgreSQL, for the inventors' rows too: they are read with their
disclosure and written by those who may write it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.accounts.roles import RESEARCHER
from shelfbridge.core.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_, translate
from shelfbridge.core.models import new_external_id
from shelfbridge.ip import repository
from shelfbridge.ip.disclosure_inputs import inventors
from shelfbridge.ip.disclosure_models import (
    AUTHOR,
    CONFIDENTIALITY,
    DISCLOSURE_STATUSES,
    DISCLOSURE_TRANSITIONS,
    Disclosure,
    DisclosureContributor,
)
from shelfbridge.ip.inputs import Fields
from shelfbridge.registry.models import Organization, Result

MANAGE = repository.MANAGE
NOT_AUTHOR = N_(
    "Only the researcher who wrote this disclosure, and the unit's tech-transfer officers and "
    "organisation admins, can do this."
)
NOT_OFFICER = N_(
    "Only the unit's tech-transfer officers and organisation admins can assess and decide "
    "disclosures."
)
NOT_DISCLOSER = N_(
    "Only researchers, tech-transfer officers and organisation admins of a unit can disclose "
    "inventions for it."
)
#: the fields a draft has (and an update may change)
DRAFT_FIELDS = (
    "title",
    "abstract",
    "technical_field",
    "conceived_on",
    "public_disclosure_on",
    "public_disclosure_note",
    "funding_source",
    "confidentiality",
    "result_id",
    "contributors",
)


OFFICE_STEPS = frozenset(
    target
    for steps in DISCLOSURE_TRANSITIONS.values()
    for target, who in steps.items()
    if who != AUTHOR
)


# ---------------------------------------------------------------------------- who
def researching_orgs(actor: Actor) -> frozenset[int]:
    return frozenset(org for org, roles in actor.roles.items() if RESEARCHER in roles)


def disclosing_orgs(actor: Actor) -> frozenset[int]:
    """The units the actor may write disclosures for."""
    return researching_orgs(actor) | actor.orgs_with(MANAGE)


def visible_clause(actor: Actor | None = None) -> ColumnElement[bool]:
    """The disclosures the actor may see (the SQL twin of the read policy of migration 0012).

    "Named" is read here from the inventors' rows themselves, there from the persons kept on the
    disclosure (``named_person_ids``); :meth:`Disclosure.name_inventors` sets both at once. Where
    they could part (a person deleted, their rows unlinked by the database, and on SQLite the
    id given again), the rows decide here and on PostgreSQL both walls must agree."""
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return true()
    clauses: list[ColumnElement[bool]] = []
    managed = actor.orgs_with(MANAGE)
    if managed:
        clauses.append(Disclosure.owner_org_id.in_(managed))
    researching = researching_orgs(actor)
    own: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        own.append(Disclosure.created_by_user_id == actor.user_id)
    if actor.person_id is not None:
        own.append(
            exists(
                select(DisclosureContributor.id).where(
                    DisclosureContributor.disclosure_id == Disclosure.id,
                    DisclosureContributor.person_id == actor.person_id,
                )
            )
        )
    if researching and own:
        clauses.append(and_(Disclosure.owner_org_id.in_(researching), or_(*own)))
    return or_(*clauses) if clauses else false()


def manages(disclosure: Disclosure, actor: Actor | None = None) -> bool:
    return (actor or current_actor.get()).can(MANAGE, disclosure.owner_org_id)


def is_author(disclosure: Disclosure, actor: Actor | None = None) -> bool:
    """The author (a researcher still in the unit) or someone who manages the unit."""
    actor = actor or current_actor.get()
    if manages(disclosure, actor):
        return True
    return (
        actor.user_id is not None
        and disclosure.created_by_user_id == actor.user_id
        and disclosure.owner_org_id in researching_orgs(actor)
    )


def allowed_steps(disclosure: Disclosure, actor: Actor | None = None) -> list[str]:
    """The statuses the actor may move this disclosure to now."""
    actor = actor or current_actor.get()
    return [
        target
        for target, who in DISCLOSURE_TRANSITIONS[disclosure.status].items()
        if manages(disclosure, actor) or (who == AUTHOR and is_author(disclosure, actor))
    ]


# ---------------------------------------------------------------------------- queries
LOAD = (selectinload(Disclosure.contributors), selectinload(Disclosure.owner))


def find(session: Session, ident: int, *, for_update: bool = False) -> Disclosure:
    statement = select(Disclosure).where(Disclosure.id == ident, visible_clause()).options(*LOAD)
    found = session.scalars(statement).first()
    if found is None:
        raise NotFound("ip_disclosures")
    if for_update:
        # Locked only once found: on PostgreSQL a reader who may not write would not even
        # find the row under FOR UPDATE (row-level security), and must hear 403, not 404.
        session.refresh(found, with_for_update=True)
    return found


def page(
    session: Session, *, status: str | None = None, limit: int = 20, offset: int = 0
) -> tuple[list[Disclosure], int]:
    """One page of the disclosures the caller may see, newest first, and their number."""
    where = [visible_clause()]
    if status:
        where.append(Disclosure.status == status)
    total = session.scalar(select(func.count(Disclosure.id)).where(*where)) or 0
    statement = (
        select(Disclosure)
        .where(*where)
        .options(*LOAD)
        .order_by(Disclosure.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(statement)), int(total)


# ---------------------------------------------------------------------------- drafting
def _owner(fields: Fields, actor: Actor) -> int | None:
    """The unit a new disclosure is for: the one named, or the caller's only one."""
    allowed = disclosing_orgs(actor)
    named = fields.ident("owner_org_id")
    if named is not None:
        if not actor.is_unrestricted and named not in allowed:
            fields.problem(
                "owner_org_id",
                N_("You can only act for organisations in which your role allows it."),
            )
            return None
        return named
    if len(allowed) == 1 and not actor.is_unrestricted:
        return next(iter(allowed))
    fields.problem("owner_org_id", N_("Name the organisation that owns it."))
    return None


def _apply(
    session: Session, disclosure: Disclosure, fields: Fields, names: tuple[str, ...]
) -> None:
    """Checks the given fields and, only when every one is good, sets them."""
    values: dict[str, Any] = {}
    for name in names:
        if name == "title":
            values[name] = fields.text(name, required=True, max_length=500)
        elif name == "abstract":
            values[name] = fields.text(name, required=True, max_length=20000)
        elif name in ("technical_field",):
            values[name] = fields.text(name, max_length=200)
        elif name in ("public_disclosure_note", "funding_source"):
            values[name] = fields.text(name, max_length=300)
        elif name in ("conceived_on", "public_disclosure_on"):
            values[name] = fields.day(name)
            if values[name] is not None and values[name] > date.today():
                fields.problem(name, N_("This day cannot be in the future."))
        elif name == "confidentiality":
            values[name] = fields.choice(name, CONFIDENTIALITY) or "internal"
        elif name == "result_id":
            values[name] = fields.ident(name)
            result = session.get(Result, values[name]) if values[name] else None
            # With no owner (already reported) only a missing result is a problem.
            foreign = (
                result is not None
                and bool(disclosure.owner_org_id)
                and result.owner_org_id != disclosure.owner_org_id
            )
            if values[name] is not None and (result is None or foreign):
                fields.problem(name, N_("The result must exist and belong to the same owner."))
        elif name == "contributors":
            values[name] = inventors(session, fields)
    conceived, public = values.get("conceived_on"), values.get("public_disclosure_on")
    if conceived and public and public < conceived:
        fields.problem(
            "public_disclosure_on", N_("An invention is disclosed after it is conceived.")
        )
    fields.done()
    for name, value in values.items():
        if name == "contributors":
            disclosure.name_inventors(value)
        else:
            setattr(disclosure, name, value)


def create(session: Session, raw: Mapping[str, Any]) -> Disclosure:
    """A draft disclosure of one of the caller's units, with its inventors and their shares."""
    actor = current_actor.get()
    if not actor.is_unrestricted and not disclosing_orgs(actor):
        raise PermissionDenied(NOT_DISCLOSER)
    fields = Fields(raw)
    owner_id = _owner(fields, actor)
    if owner_id is not None and session.get(Organization, owner_id) is None:
        fields.problem("owner_org_id", N_("No organisation {value}."), value=owner_id)
        owner_id = None
    external_id = fields.text("external_id", max_length=100)
    disclosure = Disclosure(
        external_id=external_id or new_external_id("DISC"),
        owner_org_id=owner_id or 0,
        status="draft",
        status_on=date.today(),
        confidentiality="internal",
        created_by_user_id=actor.user_id,
        created_by=actor.label,
    )
    if owner_id is None:
        # The other fields are still checked, so every problem is told at once.
        _checked_only(session, fields)
    _apply(session, disclosure, fields, DRAFT_FIELDS)
    session.add(disclosure)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(
            [
                FieldProblem(
                    "external_id",
                    "“{value}” is already used by another record.",
                    {"value": disclosure.external_id},
                )
            ]
        ) from None
    return disclosure


def _checked_only(session: Session, fields: Fields) -> None:
    probe = Disclosure(owner_org_id=0)
    _apply(session, probe, fields, DRAFT_FIELDS)


def update(session: Session, ident: int, raw: Mapping[str, Any]) -> Disclosure:
    """Change the given fields of a draft (its author or the unit's officers)."""
    disclosure = find(session, ident)
    if not is_author(disclosure):
        raise PermissionDenied(NOT_AUTHOR)
    session.refresh(disclosure, with_for_update=True)
    if disclosure.status != "draft":
        raise Conflict(
            N_("Only a draft can be changed; this disclosure is {status}."),
            status=translate(DISCLOSURE_STATUSES[disclosure.status]),
        )
    names = tuple(name for name in DRAFT_FIELDS if name in raw)
    _apply(session, disclosure, Fields(raw), names)
    session.flush()
    return disclosure


# ---------------------------------------------------------------------------- the workflow
def refuse_step(disclosure: Disclosure, target: str) -> Conflict:
    allowed = list(DISCLOSURE_TRANSITIONS[disclosure.status])
    return Conflict(
        N_("A disclosure that is {current} cannot become {target}; it can become: {allowed}."),
        current=translate(DISCLOSURE_STATUSES[disclosure.status]),
        target=translate(DISCLOSURE_STATUSES.get(target, target)),
        allowed=", ".join(translate(DISCLOSURE_STATUSES[s]) for s in allowed)
        or translate(N_("nothing (this is a final status)")),
    )


def check_step(disclosure: Disclosure, target: str) -> None:
    """Refuses a step the caller may not take (403) or the workflow does not allow (409).
    The office's steps are refused to others first: they need not learn where it stands."""
    if target in OFFICE_STEPS and not manages(disclosure):
        raise PermissionDenied(NOT_OFFICER)
    who = DISCLOSURE_TRANSITIONS[disclosure.status].get(target)
    if who is None:
        raise refuse_step(disclosure, target)
    if who == AUTHOR and not is_author(disclosure):
        raise PermissionDenied(NOT_AUTHOR)
    if who != AUTHOR and not manages(disclosure):
        raise PermissionDenied(NOT_OFFICER)


def transition(session: Session, ident: int, target: str, on: date | None = None) -> Disclosure:
    """Submit, withdraw or take up for assessment; "assessed" and "decided" need their data
    (:func:`shelfbridge.ip.disclosure_decisions.assess`, ``decide``)."""
    disclosure = find(session, ident)
    check_step(disclosure, target)
    session.refresh(disclosure, with_for_update=True)
    check_step(disclosure, target)  # again under the lock: another request may have moved it
    if target in ("assessed", "decided"):
        raise Conflict(
            N_("Record the assessment or the decision itself; it moves the disclosure on.")
        )
    day = on or date.today()
    if day < disclosure.status_on:
        raise Conflict(
            N_("The day of a step cannot be before the previous step ({day})."),
            day=disclosure.status_on.isoformat(),
        )
    if target == "submitted":
        disclosure.submitted_on = day
    disclosure.status = target
    disclosure.status_on = day
    session.flush()
    return disclosure

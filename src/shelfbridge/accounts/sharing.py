"""Sharing grants: the owner of a ``partners`` record lets another organisation see it (for
example after an NDA), and withdraws that again.

Only the owner's officers and admins (``record.share``) and platform admins give and withdraw
grants, and only they see a record's grants; a refusal is a security event. Grants are audited
records (``SharingGrant.__audit_kind__``), so giving and withdrawing are audit events. Like
every service this one may flush but never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.accounts.models import SharingGrant, User
from shelfbridge.accounts.visibility import kind_of, owner_of
from shelfbridge.core.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_
from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.models import Organization

SHARE = "record.share"
MAX_NOTE = 500


@dataclass(frozen=True)
class GrantRow:
    """A live grant with the organisation it names and who gave it."""

    grant: SharingGrant
    grantee: Organization
    granted_by: str | None


def may_share(record: Any, actor: Actor | None = None) -> bool:
    """Whether the actor may give, withdraw and see the grants of this record."""
    actor = actor or current_actor.get()
    return kind_of(type(record)) is not None and actor.can(SHARE, owner_of(record))


def require_share(record: Any) -> None:
    """Refuse (403, and a security event) a caller who may see the record but not share it."""
    if may_share(record):
        return
    kind = kind_of(type(record))
    security.note(
        "denied",
        "sharing needs an officer or admin of the owner, or a platform admin",
        target_kind=kind,
        target_id=record.id,
    )
    raise PermissionDenied(
        N_("Only the owner's officers and admins can share this record or withdraw a grant.")
    )


def live_grants(session: Session, record: Any) -> list[GrantRow]:
    """The record's grants that were not withdrawn, by organisation name."""
    kind = kind_of(type(record))
    rows = session.execute(
        select(SharingGrant, Organization, User.username)
        .join(Organization, Organization.id == SharingGrant.grantee_org_id)
        .outerjoin(User, User.id == SharingGrant.granted_by)
        .where(
            SharingGrant.record_kind == kind,
            SharingGrant.record_id == record.id,
            SharingGrant.withdrawn_at.is_(None),
        )
        .order_by(Organization.name, SharingGrant.id)
    )
    return [GrantRow(grant, grantee, username) for grant, grantee, username in rows]


def find_organization(session: Session, text: str) -> Organization:
    """The organisation named by its id, external id or exact name."""
    wanted = text.strip()
    if not wanted:
        raise ValidationFailed([FieldProblem("organization", N_("This field is required."))])
    found: Organization | None = None
    if wanted.isdigit() and len(wanted) < 19:
        found = session.get(Organization, int(wanted))
    if found is None:
        found = session.scalar(select(Organization).where(Organization.external_id == wanted))
    if found is None:
        named = session.scalars(
            select(Organization).where(Organization.name == wanted).limit(2)
        ).all()
        if len(named) > 1:
            raise ValidationFailed(
                [
                    FieldProblem(
                        "organization",
                        N_("Several organisations have this name; give its external ID."),
                    )
                ]
            )
        found = named[0] if named else None
    if found is None:
        raise ValidationFailed(
            [
                FieldProblem(
                    "organization",
                    N_("No organisation has the name, ID or external ID “{value}”."),
                    {"value": wanted},
                )
            ]
        )
    return found


def give(
    session: Session,
    record: Any,
    organization: str,
    note: str = "",
) -> SharingGrant:
    """Let the named organisation see this ``partners`` record."""
    require_share(record)
    if record.confidentiality != v.PARTNERS:
        raise Conflict(
            N_(
                "Only records whose confidentiality is “Partners” can be shared; "
                "edit the record to change it first."
            )
        )
    problems: list[FieldProblem] = []
    note = note.strip()
    if len(note) > MAX_NOTE or "\x00" in note:
        problems.append(
            FieldProblem("note", N_("Use at most {maximum} characters."), {"maximum": MAX_NOTE})
        )
    grantee = find_organization(session, organization)
    owner = owner_of(record)
    if grantee.id == owner:
        problems.append(FieldProblem("organization", N_("The owner sees its own records already.")))
    elif any(row.grantee.id == grantee.id for row in live_grants(session, record)):
        problems.append(
            FieldProblem(
                "organization",
                N_("This record is already shared with {name}."),
                {"name": grantee.name},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    assert owner is not None  # tenant-scoped records that may be shared have an owner
    grant = SharingGrant(
        record_kind=kind_of(type(record)),
        record_id=record.id,
        owner_org_id=owner,
        grantee_org_id=grantee.id,
        granted_by=current_actor.get().user_id,
        note=note or None,
    )
    session.add(grant)
    session.flush()
    return grant


def withdraw(session: Session, record: Any, grant_id: int, now: datetime) -> SharingGrant:
    """End one live grant of this record: the organisation no longer sees it."""
    require_share(record)
    grant = session.scalar(
        select(SharingGrant).where(
            SharingGrant.id == grant_id,
            SharingGrant.record_kind == kind_of(type(record)),
            SharingGrant.record_id == record.id,
            SharingGrant.withdrawn_at.is_(None),
        )
    )
    if grant is None:
        raise NotFound("sharing_grant", N_("This grant does not exist or was withdrawn already."))
    grant.withdrawn_at = now
    session.flush()
    return grant

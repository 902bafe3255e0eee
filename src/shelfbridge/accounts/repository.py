"""Queries of the accounts domain (reads only; the services change rows)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts.models import ApiToken, Membership, User
from shelfbridge.registry.models import Organization


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def organization_by_external_id(session: Session, external_id: str) -> Organization | None:
    return session.scalar(select(Organization).where(Organization.external_id == external_id))


def organization_by_id(session: Session, organization_id: int) -> Organization | None:
    return session.get(Organization, organization_id)


def live_memberships(session: Session, user_id: int) -> list[tuple[Membership, Organization]]:
    """A user's memberships that have not ended, with their organisations, by name."""
    rows = session.execute(
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user_id, Membership.ended_at.is_(None))
        .order_by(Organization.name, Membership.role)
    )
    return [(m, o) for m, o in rows.tuples()]


def live_membership(
    session: Session, membership_id: int, organization_id: int
) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.id == membership_id,
            Membership.organization_id == organization_id,
            Membership.ended_at.is_(None),
        )
    )


def members_of(session: Session, organization_id: int) -> list[tuple[Membership, User]]:
    """The live members of one organisation, by username."""
    rows = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization_id, Membership.ended_at.is_(None))
        .order_by(User.username, Membership.role)
    )
    return [(m, u) for m, u in rows.tuples()]


def live_memberships_in(session: Session, user_id: int, organization_id: int) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership).where(
                Membership.user_id == user_id,
                Membership.organization_id == organization_id,
                Membership.ended_at.is_(None),
            )
        )
    )


def live_admin_count(session: Session, organization_id: int, role: str) -> int:
    return len(
        session.scalars(
            select(Membership.id).where(
                Membership.organization_id == organization_id,
                Membership.role == role,
                Membership.ended_at.is_(None),
            )
        ).all()
    )


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens that were not revoked, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def token_of(session: Session, user_id: int, token_id: int) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
        )
    )

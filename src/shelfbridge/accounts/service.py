"""Rules of the accounts domain: users, passwords, memberships and signing in.

Like every service it may flush but never commits: the request or CLI command that opened the
unit of work commits once. Times come from the caller (``now``) so that tests set the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shelfbridge.accounts import passwords, repository, security, sessions, tokens
from shelfbridge.accounts.config import AccountsRuntime
from shelfbridge.accounts.errors import LoginFailed, LoginThrottled
from shelfbridge.accounts.models import Membership, User
from shelfbridge.accounts.roles import ORG_ADMIN, ROLES
from shelfbridge.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from shelfbridge.core.i18n import N_
from shelfbridge.registry.models import Organization, Person

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME = 100


def normalize_username(username: str) -> str:
    return username.strip().lower()


# ---------------------------------------------------------------- users
def _display_name_problems(display_name: str) -> list[FieldProblem]:
    if not display_name.strip():
        return [FieldProblem("display_name", N_("This field is required."))]
    if len(display_name.strip()) > MAX_DISPLAY_NAME:
        return [
            FieldProblem(
                "display_name",
                N_("Use at most {maximum} characters."),
                {"maximum": MAX_DISPLAY_NAME},
            )
        ]
    return []


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    is_platform_admin: bool = False,
) -> User:
    name = normalize_username(username)
    problems: list[FieldProblem] = []
    if not USERNAME.fullmatch(name):
        problems.append(
            FieldProblem(
                "username",
                N_(
                    "Use 2 to 64 lower-case letters, digits, “.”, “_” or “-”, "
                    "starting with a letter or digit."
                ),
            )
        )
    elif repository.user_by_username(session, name) is not None:
        problems.append(FieldProblem("username", N_("This username is taken.")))
    shown = (display_name or "").strip() or name
    problems += _display_name_problems(shown)
    problems += passwords.policy_problems(password, name)
    if problems:
        raise ValidationFailed(problems)
    user = User(
        username=name,
        display_name=shown,
        email=(email or "").strip() or None,
        password_hash=passwords.hash_password(password),
        is_platform_admin=is_platform_admin,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = repository.user_by_username(session, normalize_username(username))
    if user is None:
        raise NotFound("user", N_("No user has the username “{username}”."), username=username)
    return user


def update_profile(session: Session, user: User, display_name: str) -> User:
    problems = _display_name_problems(display_name)
    if problems:
        raise ValidationFailed(problems)
    user.display_name = display_name.strip()
    session.flush()
    return user


def set_password(session: Session, user: User, new_password: str, now: datetime) -> None:
    problems = passwords.policy_problems(new_password, user.username)
    if problems:
        raise ValidationFailed(problems)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now
    session.flush()


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    again: str,
    now: datetime,
    *,
    keep_session: int | None = None,
) -> None:
    """Change one's own password; every other session of the user ends."""
    problems: list[FieldProblem] = []
    if not passwords.verify_password(user.password_hash, current):
        problems.append(FieldProblem("current_password", N_("The current password is wrong.")))
    problems += passwords.policy_problems(new, user.username, field="new_password")
    if new != again:
        problems.append(
            FieldProblem("new_password_again", N_("The two new passwords are not the same."))
        )
    if problems:
        raise ValidationFailed(problems)
    set_password(session, user, new, now)
    sessions.end_all(session, user.id, now, keep=keep_session)


def link_person(session: Session, user: User, person_external_id: str | None) -> Person | None:
    """Link a user to their person of the registry (the contributor whose reward statement the
    user reads), or unlink with None. A person is linked to at most one user. Takes effect on
    the user's next request."""
    if person_external_id is None:
        user.person_id = None
        session.flush()
        return None
    person = session.scalars(
        select(Person).where(Person.external_id == person_external_id.strip())
    ).first()
    if person is None:
        raise NotFound(
            "people",
            N_("No person has the external ID “{external_id}”."),
            external_id=person_external_id,
        )
    other = session.scalars(
        select(User).where(User.person_id == person.id, User.id != user.id)
    ).first()
    if other is not None:
        raise Conflict(
            N_("{person} is already linked to the user {username}; unlink that user first."),
            person=person.name,
            username=other.username,
        )
    user.person_id = person.id
    session.flush()
    return person


def disable_user(session: Session, user: User, now: datetime) -> tuple[int, int]:
    """Disable a user, end their sessions and revoke their tokens; returns (sessions, tokens)."""
    if user.disabled_at is None:
        user.disabled_at = now
    ended = sessions.end_all(session, user.id, now)
    revoked = tokens.revoke_all(session, user.id, now)
    session.flush()
    return ended, revoked


# ---------------------------------------------------------------- memberships
def check_role(role: str, field: str = "role") -> None:
    if role not in ROLES:
        raise ValidationFailed(
            [
                FieldProblem(
                    field,
                    N_("Unknown role “{role}”. The roles are: {roles}."),
                    {"role": role, "roles": ", ".join(ROLES)},
                )
            ]
        )


def grant(session: Session, user: User, organization: Organization, role: str) -> Membership:
    """Give a user a role in an organisation (a second role is a second membership)."""
    check_role(role)
    held = repository.live_memberships_in(session, user.id, organization.id)
    if any(m.role == role for m in held):
        raise Conflict(
            N_("{username} already has this role in this organisation."), username=user.username
        )
    membership = Membership(user_id=user.id, organization_id=organization.id, role=role)
    session.add(membership)
    session.flush()
    return membership


def _would_leave_no_admin(session: Session, membership: Membership) -> bool:
    return (
        membership.role == ORG_ADMIN
        and repository.live_admin_count(session, membership.organization_id, ORG_ADMIN) <= 1
    )


def change_role(
    session: Session, membership: Membership, role: str, *, keep_an_admin: bool = True
) -> Membership:
    check_role(role)
    if role == membership.role:
        return membership
    others = repository.live_memberships_in(session, membership.user_id, membership.organization_id)
    if any(m.role == role and m.id != membership.id for m in others):
        raise Conflict(N_("This member already has that role in this organisation."))
    if keep_an_admin and _would_leave_no_admin(session, membership):
        raise Conflict(
            N_("An organisation keeps at least one admin; make another member admin first.")
        )
    membership.role = role
    session.flush()
    return membership


def end_membership(
    session: Session, membership: Membership, now: datetime, *, keep_an_admin: bool = True
) -> None:
    if keep_an_admin and _would_leave_no_admin(session, membership):
        raise Conflict(
            N_("An organisation keeps at least one admin; make another member admin first.")
        )
    membership.ended_at = now
    session.flush()


def revoke(
    session: Session, user: User, organization: Organization, now: datetime, role: str | None = None
) -> int:
    """End a user's memberships in an organisation (all roles, or one); returns how many."""
    if role is not None:
        check_role(role)
    ended = 0
    for membership in repository.live_memberships_in(session, user.id, organization.id):
        if role is None or membership.role == role:
            membership.ended_at = now
            ended += 1
    session.flush()
    return ended


# ---------------------------------------------------------------- signing in
@dataclass(frozen=True)
class Attempt:
    """What one sign-in attempt found, before anything is written."""

    username: str
    address: str
    user_id: int | None
    password_ok: bool
    disabled: bool

    @property
    def succeeded(self) -> bool:
        return self.user_id is not None and self.password_ok and not self.disabled

    def note(self, action: str, reason: str) -> None:
        security.note(
            action,
            f"{reason}; username {self.username or '(empty)'!r} from {self.address}"[:200],
            target_kind="user" if self.user_id else None,
            target_id=self.user_id,
        )


def check_credentials(
    session: Session, runtime: AccountsRuntime, username: str, password: str, *, address: str
) -> Attempt:
    """Check a sign-in without writing (argon2 runs here, outside any write transaction).

    Raises LoginThrottled while the address or the username is locked. Unknown usernames,
    wrong passwords and disabled users are told apart only in the security events; argon2
    runs for unknown usernames too, so they take as long.
    """
    now = runtime.now()
    name = normalize_username(username)[:64]
    user = repository.user_by_username(session, name) if name else None
    attempt = Attempt(name, address, user.id if user else None, False, False)
    blocked = runtime.throttle.address_blocked_until(address, now)
    if blocked is not None:
        attempt.note("rate_limited", "too many failures from this address")
        raise LoginThrottled(blocked, now)
    if user is not None:
        locked = user.locked_until if user.locked_until and user.locked_until > now else None
    else:
        locked = runtime.throttle.name_locked_until(name, now)
    if locked is not None:
        attempt.note("login_refused", "username locked")
        raise LoginThrottled(locked, now)
    if user is None:
        passwords.burn_verification(password)
        return attempt
    return Attempt(
        name,
        address,
        user.id,
        passwords.verify_password(user.password_hash, password),
        user.disabled_at is not None,
    )


def record_success(session: Session, attempt: Attempt, password: str) -> User:
    """Clear the failure count (and move the hash to the current parameters)."""
    user = session.get(User, attempt.user_id)
    if user is None:  # deleted meanwhile
        raise LoginFailed()
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return user


def record_failure(
    session: Session, runtime: AccountsRuntime, attempt: Attempt
) -> LoginFailed | LoginThrottled:
    """Count a failed sign-in and lock when there were too many; returns the error to answer."""
    now = runtime.now()
    if attempt.user_id is None:
        reason = "unknown username"
    else:
        reason = "user disabled" if attempt.password_ok else "wrong password"
    attempt.note("login_failed", reason)
    runtime.throttle.address_failed(attempt.address, now)
    if attempt.user_id is None:
        until = runtime.throttle.name_failed(attempt.username, now)
    else:
        until = _count_failure(session, runtime, attempt.user_id, now)
    if until is None:
        return LoginFailed()
    attempt.note("locked", f"locked until {until:%Y-%m-%d %H:%M} UTC")
    return LoginThrottled(until, now)


def _count_failure(
    session: Session, runtime: AccountsRuntime, user_id: int, now: datetime
) -> datetime | None:
    # One statement, so that concurrent failures are all counted.
    failures = session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if failures is None or failures < runtime.policy.max_failures:
        return None
    until = now + runtime.policy.lockout
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=0, locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return until

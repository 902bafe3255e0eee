"""Rules for creating, changing and deleting registry records. Never commits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelfbridge.accounts import visibility
from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_
from shelfbridge.core.models import new_external_id
from shelfbridge.registry import repository
from shelfbridge.registry.models import (
    Demand,
    Organization,
    Person,
    Result,
    ResultContributor,
)
from shelfbridge.registry.specs import SPECS, RecordSpec


def spec_for(kind: str) -> RecordSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise NotFound(kind) from None


def get(session: Session, kind: str, ident: int) -> Any:
    record = repository.get_by_id(session, spec_for(kind).model, ident)
    if record is None:
        raise NotFound(kind)
    return record


def get_for_change(session: Session, kind: str, ident: int) -> Any:
    """The record for an edit or delete form: only for those who may change it (a form
    shows every field, shares and money included)."""
    record = get(session, kind, ident)
    if not _may_write(kind, _writable_organization(kind, record)):
        raise PermissionDenied()
    return record


def _check_unique(
    session: Session, spec: RecordSpec, clean: dict[str, Any], ident: int | None
) -> list[FieldProblem]:
    problems = []
    model = spec.model
    for column in ("external_id", "credit_code"):
        value = clean.get(column)
        if value is None or not hasattr(model, column):
            continue
        statement = select(model.id).where(getattr(model, column) == value)
        if ident is not None:
            statement = statement.where(model.id != ident)
        if session.scalar(statement) is not None:
            problems.append(
                FieldProblem(
                    column, "“{value}” is already used by another record.", {"value": value}
                )
            )
    return problems


# The field that names the organisation a record belongs to, per kind.
OWNER_FIELDS = {"results": "owner", "demands": "enterprise", "people": "organization"}
NOT_YOURS = N_("You can only act for organisations in which your role allows it.")


def _writable_organization(kind: str, record: Any) -> int | None:
    """The organisation whose write permission governs this record."""
    if kind == "organizations":
        return int(record.id)
    if kind == "people":
        return record.organization_id  # type: ignore[no-any-return]
    return visibility.owner_of(record)


def may_change(kind: str, record: Any) -> bool:
    """Whether the actor may edit or delete this record: the pages offer the buttons only
    then (the routes check again)."""
    return _may_write(kind, _writable_organization(kind, record))


def may_create(kind: str) -> bool:
    """Whether the actor may create a record of this kind for some owner: the lists offer the
    button only then (creating checks the owner named)."""
    actor = current_actor.get()
    if actor.is_unrestricted:
        return True
    return kind != "organizations" and bool(actor.orgs_with(visibility.WRITE))


def _may_write(kind: str, organization_id: int | None) -> bool:
    actor = current_actor.get()
    if actor.is_unrestricted:
        return True
    if organization_id is None:
        return False  # ownerless records (public literature, the registry) are the platform's
    permission = "members.manage" if kind == "organizations" else visibility.WRITE
    return actor.can(permission, organization_id)


def _authorize_create(kind: str, clean: dict[str, Any]) -> list[FieldProblem]:
    actor = current_actor.get()
    if actor.is_unrestricted:
        return []
    if kind == "organizations":
        raise PermissionDenied()  # the registry of organisations is the platform's
    owner_field = OWNER_FIELDS[kind]
    owner = clean.get(spec_for(kind).field(owner_field).target)
    if not _may_write(kind, owner):
        return [FieldProblem(owner_field, NOT_YOURS)]
    sensitive = visibility.SENSITIVE_FIELDS.get(kind, ())
    if any(clean.get(name) for name in sensitive) and not actor.can(
        visibility.READ_SENSITIVE, owner
    ):
        return [
            FieldProblem(name, "You are not allowed to set this field.")
            for name in sensitive
            if clean.get(name)
        ]
    return []


def _authorize_update(
    kind: str, record: Any, raw: Mapping[str, Any], clean: dict[str, Any]
) -> list[FieldProblem]:
    if current_actor.get().is_unrestricted:
        return []
    problems = []
    owner_field = OWNER_FIELDS.get(kind)
    if owner_field and owner_field in raw:
        target = spec_for(kind).field(owner_field).target
        if clean.get(target) != getattr(record, target):
            problems.append(FieldProblem(owner_field, "The owner of a record cannot be changed."))
    for name in visibility.SENSITIVE_FIELDS.get(kind, ()):
        if name in raw and not visibility.can_see_sensitive(record):
            problems.append(FieldProblem(name, "You are not allowed to set this field."))
    return problems


def _flush_unique(session: Session, clean: dict[str, Any]) -> None:
    """Flush, answering a clash with a record the caller cannot see (row-level security hides
    it from the check above) like any other clash, never as a server error."""
    try:
        session.flush()
    except IntegrityError as error:
        text = str(error.orig)
        for column in ("credit_code", "external_id"):
            if column in text and clean.get(column) is not None:
                raise ValidationFailed(
                    [
                        FieldProblem(
                            column,
                            "“{value}” is already used by another record.",
                            {"value": clean[column]},
                        )
                    ]
                ) from None
        raise


def _apply(record: Any, clean: dict[str, Any]) -> None:
    for key, value in clean.items():
        if key == "contributors":
            _set_contributors(record, value)
        else:
            setattr(record, key, value)


def _set_contributors(result: Result, contributors: list[dict[str, Any]]) -> None:
    current = [(c.name, c.share, c.person_id) for c in result.contributors]
    wanted = [(c["name"], c["share"], c["person_id"]) for c in contributors]
    if current == wanted:
        return
    result.contributors = [ResultContributor(**c) for c in contributors]


def create(session: Session, kind: str, raw: Mapping[str, Any]) -> Any:
    spec = spec_for(kind)
    resolver = repository.DatabaseResolver(session)
    actor = current_actor.get()
    # Refused before the body is checked: a caller who may write nowhere learns nothing more.
    if not actor.is_unrestricted and not actor.orgs_with(visibility.WRITE):
        raise PermissionDenied()
    clean, problems = spec.clean(raw, resolver)
    if not problems:
        problems = _authorize_create(kind, clean)
    if not problems:
        problems = _check_unique(session, spec, clean, None)
    if problems:
        raise ValidationFailed(problems)
    if not clean.get("external_id"):
        clean["external_id"] = new_external_id(spec.id_prefix)
    record = spec.model()
    _apply(record, clean)
    session.add(record)
    _flush_unique(session, clean)
    return record


def update(session: Session, kind: str, ident: int, raw: Mapping[str, Any]) -> Any:
    spec = spec_for(kind)
    record = get(session, kind, ident)
    resolver = repository.DatabaseResolver(session)
    if not _may_write(kind, _writable_organization(kind, record)):
        raise PermissionDenied()
    clean, problems = spec.clean(raw, resolver, partial=True)
    if not problems:
        problems = _authorize_update(kind, record, raw, clean)
    if "external_id" in raw and clean.get("external_id") is None:
        problems.append(FieldProblem("external_id", "This field is required."))
    if not problems:
        problems = _check_unique(session, spec, clean, ident)
    if not problems and kind == "organizations" and clean.get("parent_id") == ident:
        problems.append(FieldProblem("parent", "An organisation cannot be its own parent."))
    if not problems and kind == "demands":
        # The budget check needs both ends, whether or not this update changes them.
        merged = {"budget_min": record.budget_min, "budget_max": record.budget_max, **clean}
        for check in spec.checks:
            problems.extend(check(merged))
    if problems:
        raise ValidationFailed(problems)
    _apply(record, clean)
    _flush_unique(session, clean)
    return record


def _references(session: Session, record: Any) -> bool:
    if isinstance(record, Organization):
        checks = [
            exists().where(Result.owner_org_id == record.id),
            exists().where(Demand.enterprise_id == record.id),
        ]
        return bool(session.scalar(select(or_(*checks))))
    return False


def delete(session: Session, kind: str, ident: int) -> None:
    record = get(session, kind, ident)
    if not _may_write(kind, _writable_organization(kind, record)):
        raise PermissionDenied()
    if _references(session, record):
        raise Conflict("This organisation still owns results or demands; remove those first.")
    if isinstance(record, Organization):
        # Children and staff lose the link through the ORM, so each change is audited.
        for child in session.scalars(
            select(Organization).where(Organization.parent_id == record.id)
        ):
            child.parent_id = None
        for person in session.scalars(select(Person).where(Person.organization_id == record.id)):
            person.organization_id = None
        session.flush()
    if isinstance(record, Person):
        # Contributors keep their name and share; only the link to the person goes.
        for contributor in session.scalars(
            select(ResultContributor).where(ResultContributor.person_id == record.id)
        ):
            contributor.person_id = None
    session.delete(record)
    session.flush()

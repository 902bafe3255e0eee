"""Feedback on matches: the rules for giving, reading, deleting and exporting it. Never commits.

- **Giving** needs a role that acts for an organisation (org admin, tech-transfer officer or
  enterprise user: the roles that hold ``record.write`` there) and the right to see both
  records of the match. The feedback is given for one such organisation (the caller's only
  one, or the one chosen). A user has one verdict per match and organisation: giving it
  again changes it.
- **Reading**: the members of the organisation that gave it, those who may change the matched
  record (its owner's officers, admins and enterprise users) and platform admins; nobody else.
  The query of a free-text search stays with the organisation that typed it, and the title of
  a source or matched record is shown only to those who may see that record.
- **Deleting**: the author, or a platform admin.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shelfbridge.accounts import visibility
from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.accounts.models import User
from shelfbridge.core.errors import (
    BadRequest,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from shelfbridge.core.i18n import N_, translate
from shelfbridge.matching.models import (
    COMMENT_MAX,
    MATCHED_KINDS,
    QUERY,
    QUERY_MAX,
    SOURCE_KINDS,
    VERDICTS,
    MatchFeedback,
)
from shelfbridge.registry import repository
from shelfbridge.registry.models import DOMAIN_MODELS, Organization

#: the permission (in the organisation acted for) that gives feedback, and that lets a
#: member see the feedback their organisation's records received
GIVE = visibility.WRITE
NOT_YOURS = N_("You can only act for organisations in which your role allows it.")


# ---------------------------------------------------------------- who may do what
def giving_organizations(actor: Actor | None = None) -> frozenset[int]:
    """The organisations the actor may give feedback for (empty: may not give any)."""
    actor = actor or current_actor.get()
    if actor.kind != "user":
        return frozenset()
    return actor.orgs_with(GIVE)


def require_giver(actor: Actor | None = None) -> frozenset[int]:
    """The organisations the actor gives feedback for; PermissionDenied when none."""
    allowed = giving_organizations(actor)
    if not allowed:
        raise PermissionDenied(
            N_(
                "Only organisation admins, tech-transfer officers and enterprise users can "
                "give feedback on matches."
            )
        )
    return allowed


def visible_feedback(actor: Actor | None = None) -> ColumnElement[bool]:
    """A WHERE clause that keeps the feedback rows the actor may read (the SQL twin of the
    row-level security policy of migration 0005)."""
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return true()
    clauses: list[ColumnElement[bool]] = []
    members_of = actor.orgs_with(visibility.READ_INTERNAL)
    if members_of:
        clauses.append(MatchFeedback.organization_id.in_(members_of))
    owners = actor.orgs_with(GIVE)
    if owners:
        clauses.append(MatchFeedback.matched_owner_org_id.in_(owners))
    return or_(*clauses) if clauses else false()


def may_read_query(row: MatchFeedback, actor: Actor | None = None) -> bool:
    """The text of a free-text search is the searching organisation's own."""
    actor = actor or current_actor.get()
    return actor.is_unrestricted or row.organization_id in actor.orgs_with(visibility.READ_INTERNAL)


def may_delete(row: MatchFeedback, actor: Actor | None = None) -> bool:
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return True
    return actor.user_id is not None and row.user_id == actor.user_id


# ---------------------------------------------------------------- records of a match
def owner_organization(kind: str, record: Any) -> int | None:
    """The organisation whose writers see the feedback a record receives."""
    if kind == "organizations":
        return int(record.id)
    if kind == "people":
        owner: int | None = record.organization_id
        return owner
    return visibility.owner_of(record)


def visible_record(session: Session, kind: str, ident: int) -> Any:
    """The record, or NotFound when it does not exist or the actor may not see it."""
    record = repository.get_by_id(session, DOMAIN_MODELS[kind], ident)
    if record is None:
        raise NotFound(kind)
    return record


def record_label(kind: str, record: Any) -> str:
    return str(record.title if kind in ("results", "demands") else record.name)


# ---------------------------------------------------------------- giving feedback
def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _ident(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if 0 < number < 2**63 else None
    return None


@dataclass(frozen=True)
class CleanFeedback:
    source_kind: str
    source_id: int | None
    query_text: str | None
    matched_kind: str
    matched_id: int
    verdict: str
    comment: str | None
    organization_id: int


def check(raw: Mapping[str, Any], actor: Actor | None = None) -> CleanFeedback:
    """The submitted feedback, checked field by field (every problem at once)."""
    allowed = require_giver(actor)
    problems: list[FieldProblem] = []
    source_kind = _text(raw.get("source_kind")) or ""
    source_id: int | None = None
    query_text: str | None = None
    if source_kind not in SOURCE_KINDS:
        problems.append(
            FieldProblem(
                "source_kind",
                "“{value}” is not a source of matches: use {kinds}.",
                {"value": source_kind, "kinds": ", ".join(SOURCE_KINDS)},
            )
        )
    elif source_kind == QUERY:
        query_text = _text(raw.get("query"))
        if query_text is None:
            problems.append(FieldProblem("query", "Give the text that was searched for."))
        elif len(query_text) > QUERY_MAX:
            problems.append(
                FieldProblem(
                    "query",
                    "The text is {length} characters long; at most {max} are allowed.",
                    {"length": len(query_text), "max": QUERY_MAX},
                )
            )
    else:
        source_id = _ident(raw.get("source_id"))
        if source_id is None:
            problems.append(FieldProblem("source_id", "Give the id of the record matched from."))
    matched_kind = _text(raw.get("matched_kind")) or ""
    if matched_kind not in MATCHED_KINDS:
        problems.append(
            FieldProblem(
                "matched_kind",
                "“{value}” is not a kind of matched record: use {kinds}.",
                {"value": matched_kind, "kinds": ", ".join(MATCHED_KINDS)},
            )
        )
    matched_id = _ident(raw.get("matched_id"))
    if matched_id is None:
        problems.append(FieldProblem("matched_id", "Give the id of the matched record."))
    verdict = _text(raw.get("verdict")) or ""
    if verdict not in VERDICTS:
        problems.append(
            FieldProblem(
                "verdict",
                "“{value}” is not a known verdict: use interest or one of the reasons {codes}.",
                {
                    "value": verdict,
                    "codes": ", ".join(code for code in VERDICTS if code != "interest"),
                },
            )
        )
    comment = _text(raw.get("comment"))
    if comment is not None and len(comment) > COMMENT_MAX:
        problems.append(
            FieldProblem(
                "comment",
                "The comment is {length} characters long; at most {max} are allowed.",
                {"length": len(comment), "max": COMMENT_MAX},
            )
        )
    organization_id = _ident(raw.get("organization_id"))
    if raw.get("organization_id") in (None, "") and len(allowed) == 1:
        organization_id = next(iter(allowed))
    if organization_id is None:
        problems.append(FieldProblem("organization_id", "Choose the organisation you act for."))
    elif organization_id not in allowed:
        problems.append(FieldProblem("organization_id", NOT_YOURS))
    if problems:
        raise ValidationFailed(problems)
    assert matched_id is not None and organization_id is not None
    return CleanFeedback(
        source_kind,
        source_id,
        query_text,
        matched_kind,
        matched_id,
        verdict,
        comment,
        organization_id,
    )


def _same_match(clean: CleanFeedback, user_id: int | None) -> ColumnElement[bool]:
    source = (
        MatchFeedback.query_text == clean.query_text
        if clean.source_kind == QUERY
        else MatchFeedback.source_id == clean.source_id
    )
    return (
        (MatchFeedback.source_kind == clean.source_kind)
        & source
        & (MatchFeedback.matched_kind == clean.matched_kind)
        & (MatchFeedback.matched_id == clean.matched_id)
        & (MatchFeedback.organization_id == clean.organization_id)
        & (MatchFeedback.user_id == user_id)
    )


def give(session: Session, raw: Mapping[str, Any]) -> MatchFeedback:
    """Record (or change) the caller's verdict on one match."""
    actor = current_actor.get()
    clean = check(raw, actor)
    # Both records must be visible to the caller; one that is not answers like one that
    # does not exist.
    if clean.source_id is not None:
        visible_record(session, clean.source_kind, clean.source_id)
    matched = visible_record(session, clean.matched_kind, clean.matched_id)
    row = session.scalar(select(MatchFeedback).where(_same_match(clean, actor.user_id)))
    if row is None:
        row = MatchFeedback(
            source_kind=clean.source_kind,
            source_id=clean.source_id,
            query_text=clean.query_text,
            matched_kind=clean.matched_kind,
            matched_id=clean.matched_id,
            organization_id=clean.organization_id,
            user_id=actor.user_id,
        )
        session.add(row)
    row.matched_owner_org_id = owner_organization(clean.matched_kind, matched)
    row.verdict = clean.verdict
    row.comment = clean.comment
    session.flush()
    return row


def get(session: Session, feedback_id: int) -> MatchFeedback:
    row = session.scalar(
        select(MatchFeedback).where(MatchFeedback.id == feedback_id, visible_feedback())
    )
    if row is None:
        raise NotFound("feedback")
    return row


def delete(session: Session, feedback_id: int) -> None:
    """Delete one's own feedback (platform admins may delete any)."""
    row = get(session, feedback_id)
    if not may_delete(row):
        raise PermissionDenied(N_("Only the person who gave this feedback can delete it."))
    session.delete(row)
    session.flush()


# ---------------------------------------------------------------- reading
DIRECTIONS = ("received", "given")


def about(
    session: Session, kind: str, record_id: int, direction: str = "received"
) -> list[MatchFeedback]:
    """Feedback the actor may read on one record: ``received`` (the record was matched) or
    ``given`` (on the matches found from it), newest first. NotFound when the record is not
    visible."""
    if direction not in DIRECTIONS:
        raise BadRequest(N_("Unknown direction “{value}”: use received or given."), value=direction)
    visible_record(session, kind, record_id)
    if direction == "received":
        where = (MatchFeedback.matched_kind == kind) & (MatchFeedback.matched_id == record_id)
    else:
        where = (MatchFeedback.source_kind == kind) & (MatchFeedback.source_id == record_id)
    return list(
        session.scalars(
            select(MatchFeedback)
            .where(where, visible_feedback())
            .order_by(MatchFeedback.updated_at.desc(), MatchFeedback.id.desc())
        )
    )


def own_verdicts(
    session: Session, source_kind: str, source_id: int | None, query_text: str | None = None
) -> dict[tuple[str, int], MatchFeedback]:
    """The caller's own feedback on the matches of one source, by (matched kind, id)."""
    actor = current_actor.get()
    if actor.user_id is None:
        return {}
    source = (
        MatchFeedback.query_text == query_text
        if source_kind == QUERY
        else MatchFeedback.source_id == source_id
    )
    rows = session.scalars(
        select(MatchFeedback)
        .where(
            MatchFeedback.source_kind == source_kind,
            source,
            MatchFeedback.user_id == actor.user_id,
            visible_feedback(),
        )
        .order_by(MatchFeedback.updated_at)
    )
    return {(row.matched_kind, row.matched_id): row for row in rows}


@dataclass(frozen=True)
class FeedbackView:
    """One feedback row as the caller may see it."""

    id: int
    source_kind: str
    source_id: int | None
    source_title: str | None  # None when the caller may not see the source
    query: str | None  # only for the organisation that searched
    matched_kind: str
    matched_id: int
    matched_title: str | None
    verdict: str
    verdict_label: str
    comment: str | None
    organization_id: int
    organization_name: str
    author: str | None
    created_at: datetime
    updated_at: datetime
    can_delete: bool


def _pairs(session: Session, statement: Select[Any, Any]) -> dict[int, str]:
    """The rows of a two-column query (id, text) as a dict."""
    return {int(key): str(value) for key, value in session.execute(statement)}


def _titles(session: Session, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    by_kind: dict[str, set[int]] = {}
    for kind, ident in wanted:
        by_kind.setdefault(kind, set()).add(ident)
    titles: dict[tuple[str, int], str] = {}
    for kind, ids in by_kind.items():
        model = DOMAIN_MODELS[kind]
        records = list(
            session.scalars(
                select(model).where(model.id.in_(ids), visibility.visible_clause(model))
            )
        )
        repository.note_reads(model, records)
        for record in records:
            titles[(kind, record.id)] = record_label(kind, record)
    return titles


def views(session: Session, rows: list[MatchFeedback]) -> list[FeedbackView]:
    """What the caller may see of these rows (titles of visible records, names, labels)."""
    if not rows:
        return []
    actor = current_actor.get()
    wanted = [(r.matched_kind, r.matched_id) for r in rows]
    wanted += [(r.source_kind, r.source_id) for r in rows if r.source_id is not None]
    titles = _titles(session, wanted)
    org_ids = {r.organization_id for r in rows}
    organizations = _pairs(
        session, select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
    )
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    users = _pairs(session, select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return [
        FeedbackView(
            id=r.id,
            source_kind=r.source_kind,
            source_id=r.source_id,
            source_title=titles.get((r.source_kind, r.source_id or 0)),
            query=r.query_text if may_read_query(r, actor) else None,
            matched_kind=r.matched_kind,
            matched_id=r.matched_id,
            matched_title=titles.get((r.matched_kind, r.matched_id)),
            verdict=r.verdict,
            verdict_label=translate(VERDICTS.get(r.verdict, r.verdict)),
            comment=r.comment,
            organization_id=r.organization_id,
            organization_name=organizations.get(r.organization_id, ""),
            author=users.get(r.user_id) if r.user_id is not None else None,
            created_at=r.created_at,
            updated_at=r.updated_at,
            can_delete=may_delete(r, actor),
        )
        for r in rows
    ]


# ---------------------------------------------------------------- export for evaluation
EXPORT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "organization",
    "user",
    "source_kind",
    "source",
    "query",
    "matched_kind",
    "matched",
    "matched_owner",
    "verdict",
    "comment",
)


def _external_ids(session: Session, kind: str, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    model = DOMAIN_MODELS[kind]
    statement = select(model.id, model.external_id).where(model.id.in_(ids))
    return _pairs(session, statement.where(visibility.visible_clause(model)))


def export_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every feedback row the actor may read, oldest first, with records named by their
    external ids (as the benchmark and the import files name them)."""
    rows = list(
        session.scalars(select(MatchFeedback).where(visible_feedback()).order_by(MatchFeedback.id))
    )
    wanted: dict[str, set[int]] = {kind: set() for kind in DOMAIN_MODELS}
    for r in rows:
        wanted[r.matched_kind].add(r.matched_id)
        if r.source_id is not None and r.source_kind in wanted:
            wanted[r.source_kind].add(r.source_id)
        wanted["organizations"].add(r.organization_id)
        if r.matched_owner_org_id is not None:
            wanted["organizations"].add(r.matched_owner_org_id)
    external = {kind: _external_ids(session, kind, ids) for kind, ids in wanted.items()}
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    usernames = _pairs(session, select(User.id, User.username).where(User.id.in_(user_ids)))
    actor = current_actor.get()
    orgs = external["organizations"]
    for r in rows:
        yield {
            "id": r.id,
            "created_at": r.created_at.isoformat(),
            "updated_at": r.updated_at.isoformat(),
            "organization": orgs.get(r.organization_id),
            "user": usernames.get(r.user_id) if r.user_id is not None else None,
            "source_kind": r.source_kind,
            "source": external.get(r.source_kind, {}).get(r.source_id or 0),
            "query": r.query_text if may_read_query(r, actor) else None,
            "matched_kind": r.matched_kind,
            "matched": external[r.matched_kind].get(r.matched_id),
            "matched_owner": orgs.get(r.matched_owner_org_id or 0),
            "verdict": r.verdict,
            "comment": r.comment,
        }


def export_file(session: Session, path: Path) -> int:
    """Write the feedback the actor may read to a .csv or .jsonl file; returns the rows
    written. The file appears complete or not at all."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise BadRequest(N_("Use a .csv or .jsonl file name."))
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            writer = csv.DictWriter(handle, EXPORT_COLUMNS, lineterminator="\r\n")
            writer.writeheader()
            for row in export_rows(session):
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
                count += 1
        else:
            for row in export_rows(session):
                handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
    partial.replace(path)
    return count

"""Distributing many income records at once (``shelfbridge ip distribute-pending``): the
same checks, rows and audit events as one request (``ip.distributing``), with each read and
write made once per chunk instead of once per record. Never commits: the caller commits each
chunk, so a long run holds the write lock for one chunk at a time and a failure loses one
chunk's work at most.

Each record at most once: the chunk's income rows are locked first (in id order, so two
batches never deadlock), records already distributed are skipped and reported, and a clash on
``UNIQUE (income_record_id)`` (a distribution that got in without the lock) drops just those
records from the chunk, which is then inserted again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core import audit
from shelfbridge.core.errors import NotFound, ShelfbridgeError
from shelfbridge.ip import repository
from shelfbridge.ip.distributing import (
    DISTRIBUTIONS,
    Case,
    Plan,
    PolicyBook,
    already_distributed,
    insert_lines,
    lock_cases,
    make_event,
    payees,
    plan,
)
from shelfbridge.ip.models import Distribution, IncomeRecord
from shelfbridge.ip.service import require_manager


@dataclass
class BatchReport:
    """What :func:`distribute_many` did with each record it was given."""

    distributed: list[tuple[int, int]] = field(default_factory=list)  # (income, distribution)
    skipped: list[int] = field(default_factory=list)  # already distributed
    failed: list[tuple[int, ShelfbridgeError]] = field(default_factory=list)

    def extend(self, other: BatchReport) -> None:
        self.distributed.extend(other.distributed)
        self.skipped.extend(other.skipped)
        self.failed.extend(other.failed)


def _insert_chunk(session: Session, plans: list[Plan]) -> list[Plan]:
    """Insert the planned distributions in one savepoint; returns those inserted. A clash on
    the unique income record means someone distributed one of them since we looked: those
    are dropped and the rest inserted again."""
    while plans:
        try:
            with session.begin_nested():
                columns = [c.name for c in DISTRIBUTIONS.columns if c.name != "id"]
                audit.insert_many(
                    session,
                    DISTRIBUTIONS,
                    columns,
                    [tuple(found.row[c] for c in columns) for found in plans],
                )
                column = DISTRIBUTIONS.c.income_record_id
                ids = dict(
                    session.execute(
                        select(column, DISTRIBUTIONS.c.id).where(
                            column.in_([found.row["income_record_id"] for found in plans])
                        )
                    ).all()
                )
                for found in plans:
                    found.row["id"] = ids[found.row["income_record_id"]]
                insert_lines(session, plans)
            return plans
        except IntegrityError:
            taken = already_distributed(session, [p.row["income_record_id"] for p in plans])
            if not taken:
                raise  # not the race on the income record: a real error
            plans = [p for p in plans if p.row["income_record_id"] not in taken]
    return plans


def distribute_many(
    session: Session, income_ids: Sequence[int], *, second_approval_above: Decimal
) -> BatchReport:
    """Distribute each of ``income_ids`` once, in this transaction (the caller commits,
    a chunk at a time): the same checks and the same rows and audit events as
    :func:`distribute`, with the reads and writes made once for all. A record already
    distributed is skipped; one that cannot be distributed (not found, not managed by the
    actor, no contributors, a rule refuses it) is reported with its error and the others go
    on."""
    report = BatchReport()
    ids = sorted(set(income_ids))
    if not ids:
        return report
    cases = lock_cases(session, ids)
    found_ids = {case.income_id for case in cases}
    report.failed.extend((i, NotFound("ip_income_records")) for i in ids if i not in found_ids)
    done = already_distributed(session, found_ids)
    actor = current_actor.get()
    todo: list[Case] = []
    for case in cases:
        if case.income_id in done:
            report.skipped.append(case.income_id)
            continue
        try:
            require_manager(case.owner_org_id, actor)
        except ShelfbridgeError as error:
            report.failed.append((case.income_id, error))
            continue
        todo.append(case)
    if not todo:
        return report
    contributors = payees(session, {case.asset_id for case in todo})
    policies = PolicyBook(
        session, {case.owner_org_id for case in todo}, max(case.received_on for case in todo)
    )
    plans: list[Plan] = []
    for case in todo:
        try:
            plans.append(
                plan(
                    case,
                    contributors.get(case.asset_id, []),
                    policies.in_force(case.owner_org_id, case.received_on),
                    second_approval_above=second_approval_above,
                    requested_by=actor.label,
                    requested_by_user_id=actor.user_id,
                )
            )
        except ShelfbridgeError as error:
            report.failed.append((case.income_id, error))
    inserted = _insert_chunk(session, plans)
    kept = {found.row["income_record_id"] for found in inserted}
    report.skipped.extend(
        p.row["income_record_id"] for p in plans if p.row["income_record_id"] not in kept
    )
    # Buffered only now: a savepoint rolled back above must not take events with it.
    who = audit.current_actor.get()
    audit.buffer_events(session, [make_event(found, who) for found in inserted])
    report.distributed.extend(
        (found.row["income_record_id"], found.row["id"]) for found in inserted
    )
    report.skipped.sort()
    return report


def pending_income(session: Session, owner_org_id: int | None = None) -> list[int]:
    """The income records the actor manages that have no distribution yet, in id order."""
    statement = (
        select(IncomeRecord.id)
        .where(repository.managed_clause(IncomeRecord))
        .where(
            ~select(Distribution.id)
            .where(Distribution.income_record_id == IncomeRecord.id)
            .exists()
        )
        .order_by(IncomeRecord.id)
    )
    if owner_org_id is not None:
        statement = statement.where(IncomeRecord.owner_org_id == owner_org_id)
    return list(session.scalars(statement))

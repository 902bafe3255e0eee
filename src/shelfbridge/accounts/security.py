"""Security events: every denied request and every read of a non-public record.

Events are noted while a request or command runs and written together afterwards in their
own short transaction (a read-only request has no write transaction to put them in, and a
denied write is rolled back): see :func:`flush`.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from sqlalchemy import insert

from shelfbridge.accounts.actor import current_actor
from shelfbridge.accounts.models import SecurityEvent
from shelfbridge.core.database import Database
from shelfbridge.core.models import utcnow

_pending: ContextVar[list[dict[str, Any]] | None] = ContextVar("security_events", default=None)
_request: ContextVar[tuple[str, str] | None] = ContextVar("security_request", default=None)


def begin(method: str | None = None, path: str | None = None) -> None:
    """Start collecting events for one request or command."""
    _pending.set([])
    _request.set((method or "", path or ""))


def note(
    action: str, reason: str, *, target_kind: str | None = None, target_id: int | None = None
) -> None:
    pending = _pending.get()
    if pending is None:
        return  # outside a request or command (e.g. a unit test of a service): nothing to keep
    method, path = _request.get() or ("", "")
    pending.append(
        {
            "occurred_at": utcnow(),
            "actor": current_actor.get().label,
            "action": action,
            "method": method or None,
            "path": path or None,
            "target_kind": target_kind,
            "target_id": target_id,
            "reason": reason,
        }
    )


def note_reads(kind: str, records: Iterable[Any]) -> None:
    """Reads of records that are not public, by anyone but the platform itself."""
    if current_actor.get().kind == "system":
        return
    for record in records:
        confidentiality = getattr(record, "confidentiality", "public")
        if confidentiality != "public":
            note("read", f"{confidentiality} record", target_kind=kind, target_id=record.id)


def flush(database: Database) -> int:
    """Write what was noted; returns how many events were written."""
    pending = _pending.get()
    _pending.set(None)
    if not pending:
        return 0
    with database.writer.begin() as connection:
        connection.execute(insert(SecurityEvent), pending)
    return len(pending)

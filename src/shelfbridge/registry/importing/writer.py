"""Bulk writes of checked rows, one chunk at a time, each change with its audit event.

Rows are written with Core ``INSERT`` / ``UPDATE`` statements (executemany), not ORM objects,
so the ORM's audit hooks do not see them: this module builds the same snapshots that
:func:`shelfbridge.core.audit.snapshot` takes of an ORM record (every column but the
timestamps, plus a result's contributors) and buffers the events itself.
"""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from shelfbridge.core import audit
from shelfbridge.core.models import utcnow
from shelfbridge.registry.importing.resolver import PENDING, ImportResolver
from shelfbridge.registry.models import ResultContributor
from shelfbridge.registry.specs import RecordSpec

CONTRIBUTORS = "contributors"
_CHILD_TABLE: Table = ResultContributor.__table__  # type: ignore[assignment]
_CHILD_COLUMNS = ("position", "name", "person_id", "share")
_CHILD_INSERT = ("result_id", *_CHILD_COLUMNS)


class RecordWriter:
    """Writes chunks of cleaned rows of one kind and counts what it did."""

    def __init__(self, session: Session, spec: RecordSpec, resolver: ImportResolver) -> None:
        self.session = session
        self.spec = spec
        self.resolver = resolver
        self.table: Table = spec.model.__table__
        self.entity_kind: str = spec.model.__audit_kind__
        self.columns = [
            column.name
            for column in self.table.columns
            if column.name != "id" and column.name not in audit.SKIPPED_COLUMNS
        ]
        self.with_children = CONTRIBUTORS in {f.target for f in spec.fields}
        # columns a model keeps out of its audit events, as audit.snapshot does
        self.hidden = frozenset(getattr(spec.model, "__audit_skip__", ()))
        self._insert_columns = [*self.columns, "created_at", "updated_at"]
        self._values = itemgetter(*self.columns)  # a clean row's column values, as a tuple
        self._snapshot_keys = {*self.columns, *([CONTRIBUTORS] if self.with_children else [])}
        # A kind without any record yet (a first import) has nothing to compare with; the
        # file's external ids are unique, so it stays so for the rows of this import.
        self.fresh = session.execute(select(self.table.c.id).limit(1)).first() is None
        self.created = 0
        self.updated = 0
        self.unchanged = 0

    # ------------------------------------------------------------------ reading
    def _existing(self, external_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Snapshots of the stored records with these external ids, keyed by external id."""
        columns = [self.table.c.id, *(self.table.c[name] for name in self.columns)]
        records: dict[str, dict[str, Any]] = {}
        for row in self.session.execute(
            select(*columns).where(self.table.c.external_id.in_(external_ids))
        ):
            records[row.external_id] = dict(row._mapping)
        if self.with_children and records:
            by_id = {record["id"]: record for record in records.values()}
            children: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in self.session.execute(
                select(_CHILD_TABLE.c.result_id, *(_CHILD_TABLE.c[c] for c in _CHILD_COLUMNS))
                .where(_CHILD_TABLE.c.result_id.in_(list(by_id)))
                .order_by(_CHILD_TABLE.c.result_id, _CHILD_TABLE.c.position)
            ):
                children[row.result_id].append({c: row._mapping[c] for c in _CHILD_COLUMNS})
            for ident, record in by_id.items():
                record[CONTRIBUTORS] = children.get(ident, [])
        return records

    def _snapshot(self, clean: dict[str, Any], ident: int) -> dict[str, Any]:
        """The snapshot of the record that ``clean`` becomes (or is) under id ``ident``."""
        if clean.keys() == self._snapshot_keys:  # the usual case: a copy is all it takes
            snapshot = clean.copy()
        else:
            snapshot = dict(zip(self.columns, self._values(clean), strict=True))
            if self.with_children:
                snapshot[CONTRIBUTORS] = clean[CONTRIBUTORS]
        snapshot["id"] = ident
        return snapshot

    # ------------------------------------------------------------------ writing
    def write(self, rows: list[dict[str, Any]]) -> None:
        """Insert the new rows, update the changed ones, leave the rest, audit each change."""
        if not rows:
            return
        if self.resolver.self_referencing and any(r["parent_id"] == PENDING for r in rows):
            raise AssertionError("an organisation's parent was not written first")
        if self.fresh:
            self._insert(rows)
        else:
            existing = self._existing([clean["external_id"] for clean in rows])
            inserts: list[dict[str, Any]] = []
            updates: list[tuple[dict[str, Any], dict[str, Any], str, str]] = []
            for clean in rows:
                before = existing.get(clean["external_id"])
                if before is None:
                    inserts.append(clean)
                    continue
                after = self._snapshot(clean, before["id"])
                before_json = audit.canonical_json(before) or ""  # stored values: any types
                after_json = audit.bulk_canonical_json(after)
                if before_json == after_json:
                    self.unchanged += 1
                else:
                    updates.append((before, after, before_json, after_json))
            self._insert(inserts)
            self._update(updates)
        audit.write_pending(self.session)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert clean rows, each with its audit event."""
        if not rows:
            return
        now = utcnow()
        values = self._values
        audit.insert_many(
            self.session,
            self.table,
            self._insert_columns,
            [(*values(clean), now, now) for clean in rows],
        )
        # The new ids come back from one SELECT: portable, and on SQLite faster than
        # RETURNING in parameter order.
        table = self.table
        found = self.session.execute(
            select(table.c.external_id, table.c.id).where(
                table.c.external_id.in_([clean["external_id"] for clean in rows])
            )
        )
        new_ids: dict[str, int] = dict(found.all())
        idents = [new_ids[clean["external_id"]] for clean in rows]
        if self.with_children:
            audit.insert_many(
                self.session,
                _CHILD_TABLE,
                _CHILD_INSERT,
                [
                    (ident, c["position"], c["name"], c["person_id"], c["share"])
                    for ident, clean in zip(idents, rows, strict=True)
                    for c in clean[CONTRIBUTORS]
                ],
            )
        events = []
        actor, occurred_at = audit.current_actor.get(), audit.now_iso()
        for ident, clean in zip(idents, rows, strict=True):
            external_id = clean["external_id"]
            after = audit.bulk_canonical_json(self._audited(self._snapshot(clean, ident)))
            self._remember(external_id, ident, clean)
            events.append(
                audit.PendingEvent(
                    action="create",
                    entity_kind=self.entity_kind,
                    entity_id=ident,
                    external_id=external_id,
                    before=None,
                    after=after,
                    actor=actor,
                    occurred_at=occurred_at,
                )
            )
        audit.buffer_events(self.session, events)
        self.created += len(rows)

    def _update(self, changes: list[tuple[dict[str, Any], dict[str, Any], str, str]]) -> None:
        """Update records given as (before, after, and their canonical JSON)."""
        if not changes:
            return
        now = utcnow()
        params = [
            {"record_id": before["id"], **{name: after[name] for name in self.columns}}
            for before, after, _before_json, _after_json in changes
        ]
        statement = (
            update(self.table)
            .where(self.table.c.id == bindparam("record_id"))
            .values(updated_at=now)
        )
        self.session.execute(statement, params)
        if self.with_children:
            moved = [
                (before["id"], after[CONTRIBUTORS])
                for before, after, _before_json, _after_json in changes
                if before[CONTRIBUTORS] != after[CONTRIBUTORS]
            ]
            if moved:
                self.session.execute(
                    delete(_CHILD_TABLE).where(_CHILD_TABLE.c.result_id.in_([i for i, _ in moved]))
                )
                audit.insert_many(
                    self.session,
                    _CHILD_TABLE,
                    _CHILD_INSERT,
                    [
                        (i, c["position"], c["name"], c["person_id"], c["share"])
                        for i, rows in moved
                        for c in rows
                    ],
                )
        actor, occurred_at = audit.current_actor.get(), audit.now_iso()
        events = []
        for before, after, before_json, after_json in changes:
            self._remember(after["external_id"], before["id"], after)
            if self.hidden:
                before_json = audit.canonical_json(self._audited(before)) or ""
                after_json = audit.canonical_json(self._audited(after)) or ""
            events.append(
                audit.PendingEvent(
                    action="update",
                    entity_kind=self.entity_kind,
                    entity_id=before["id"],
                    external_id=after["external_id"],
                    before=before_json,
                    after=after_json,
                    actor=actor,
                    occurred_at=occurred_at,
                )
            )
        audit.buffer_events(self.session, events)
        self.updated += len(changes)

    def _audited(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if not self.hidden:
            return snapshot
        return {key: value for key, value in snapshot.items() if key not in self.hidden}

    def _remember(self, external_id: str, ident: int, clean: dict[str, Any]) -> None:
        if self.resolver.self_referencing:
            self.resolver.remember_organization(external_id, ident, clean["kind"])

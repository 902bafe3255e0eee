"""Bulk writes of checked rows, one chunk at a time, each change with its audit event.

Rows are written with Core ``INSERT`` / ``UPDATE`` statements (executemany), not ORM objects,
so the ORM's audit hooks do not see them: this module builds the same snapshots that
:func:`shelfbridge.core.audit.snapshot` takes of an ORM record (every column but the
timestamps, plus a result's contributors) and buffers the events itself.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from shelfbridge.core import audit
from shelfbridge.core.models import utcnow
from shelfbridge.registry.importing.resolver import PENDING, ImportResolver
from shelfbridge.registry.models import ResultContributor
from shelfbridge.registry.specs import RecordSpec

CONTRIBUTORS = "contributors"
_CHILD_TABLE: Table = ResultContributor.__table__  # type: ignore[assignment]
_CHILD_COLUMNS = ("position", "name", "person_id", "share")


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

    # ------------------------------------------------------------------ writing
    def write(self, rows: list[dict[str, Any]]) -> None:
        """Insert the new rows, update the changed ones, leave the rest, audit each change."""
        if not rows:
            return
        existing = self._existing([clean["external_id"] for clean in rows])
        inserts: list[tuple[dict[str, Any], dict[str, Any]]] = []
        updates: list[tuple[dict[str, Any], dict[str, Any]]] = []
        columns = self.columns
        for clean in rows:
            values = {name: clean[name] for name in columns}
            if self.resolver.self_referencing and values["parent_id"] == PENDING:
                raise AssertionError("an organisation's parent was not written first")
            before = existing.get(values["external_id"])
            if before is None:
                inserts.append((values, clean))
                continue
            after = {**before, **values}
            if self.with_children:
                after[CONTRIBUTORS] = clean[CONTRIBUTORS]
            if audit.canonical_json(before) == audit.canonical_json(after):
                self.unchanged += 1
            else:
                updates.append((before, after))
        self._insert(inserts)
        self._update(updates)
        audit.write_pending(self.session)

    def _insert(self, rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Insert rows given as (column values, clean row); the values become snapshots."""
        if not rows:
            return
        now = utcnow()
        statement = insert(self.table).values(created_at=now, updated_at=now)
        self.session.execute(statement, [values for values, _clean in rows])
        # The new ids come back from one SELECT: portable, and on SQLite faster than
        # RETURNING in parameter order.
        external_ids = [values["external_id"] for values, _clean in rows]
        new_ids = {
            row.external_id: row.id
            for row in self.session.execute(
                select(self.table.c.external_id, self.table.c.id).where(
                    self.table.c.external_id.in_(external_ids)
                )
            )
        }
        children: list[dict[str, Any]] = []
        for values, clean in rows:
            snapshot = values  # the parameters are sent; the same dict now becomes the snapshot
            ident = snapshot["id"] = new_ids[values["external_id"]]
            if self.with_children:
                snapshot[CONTRIBUTORS] = clean[CONTRIBUTORS]
                children.extend({"result_id": ident, **c} for c in clean[CONTRIBUTORS])
            self._remember(snapshot)
            audit.buffer_event(
                self.session,
                action="create",
                entity_kind=self.entity_kind,
                entity_id=ident,
                external_id=snapshot["external_id"],
                before=None,
                after=self._audited(snapshot),
            )
        if children:
            self.session.execute(insert(_CHILD_TABLE), children)
        self.created += len(rows)

    def _update(self, changes: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        if not changes:
            return
        now = utcnow()
        params = [
            {"record_id": before["id"], **{name: after[name] for name in self.columns}}
            for before, after in changes
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
                for before, after in changes
                if before[CONTRIBUTORS] != after[CONTRIBUTORS]
            ]
            if moved:
                self.session.execute(
                    delete(_CHILD_TABLE).where(_CHILD_TABLE.c.result_id.in_([i for i, _ in moved]))
                )
                children = [{"result_id": i, **c} for i, rows in moved for c in rows]
                if children:
                    self.session.execute(insert(_CHILD_TABLE), children)
        for before, after in changes:
            self._remember(after)
            audit.buffer_event(
                self.session,
                action="update",
                entity_kind=self.entity_kind,
                entity_id=before["id"],
                external_id=after["external_id"],
                before=self._audited(before),
                after=self._audited(after),
            )
        self.updated += len(changes)

    def _audited(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        if not self.hidden:
            return snapshot
        return {key: value for key, value in snapshot.items() if key not in self.hidden}

    def _remember(self, snapshot: dict[str, Any]) -> None:
        if self.resolver.self_referencing:
            self.resolver.remember_organization(
                snapshot["external_id"], snapshot["id"], snapshot["kind"]
            )

"""The import's resolver: the database's records, fetched a chunk at a time, plus the file's own.

An organisation may name as its parent another organisation of the same file, earlier or
later. While such a parent is not yet in the database the resolver answers with the
placeholder id :data:`PENDING` and notes the reference; the engine checks that the file
holds it and writes the child after its parent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.registry.fields import LIST_SEPARATOR, OrganizationRef
from shelfbridge.registry.models import Organization, Person
from shelfbridge.registry.repository import DatabaseResolver
from shelfbridge.registry.specs import RecordSpec

PENDING = -1  # the id of an organisation that this import has yet to write
_IN_CLAUSE = 500  # external ids per IN (…) query


class ImportResolver(DatabaseResolver):
    """A :class:`DatabaseResolver` that looks references up in bulk and knows the file's rows."""

    def __init__(self, session: Session, spec: RecordSpec, *, forward: bool = True) -> None:
        super().__init__(session)
        self.spec = spec
        self.self_referencing = spec.kind == "organizations"
        self._allow_forward = forward and self.self_referencing
        self.forward: list[str] = []  # references to the file's own rows made by the last clean
        self._org_refs = [f.name for f in spec.fields if isinstance(f, OrganizationRef)]

    def organization(self, external_id: str) -> tuple[int, str] | None:
        found = super().organization(external_id)
        if found is None and self._allow_forward:
            self.forward.append(external_id)
            return (PENDING, "")
        return found

    # ------------------------------------------------------------------ bulk look-ups
    def prefetch(self, rows: Iterable[dict[str, Any]]) -> None:
        """Look up, in a few queries, every record that these raw rows refer to."""
        organizations: set[str] = set()
        people: set[str] = set()
        for values in rows:
            for name in self._org_refs:
                ref = _reference(values.get(name))
                if ref is not None:
                    organizations.add(ref)
            if "contributors" in values:
                people.update(_contributor_people(values["contributors"]))
        self._fetch_organizations(organizations - self._organizations.keys())
        self._fetch_people(people - self._people.keys())

    def _fetch_organizations(self, wanted: set[str]) -> None:
        for part in _parts(sorted(wanted)):
            for row in self.session.execute(
                select(Organization.external_id, Organization.id, Organization.kind).where(
                    Organization.external_id.in_(part)
                )
            ):
                self._organizations[row[0]] = (row[1], row[2])
            for external_id in part:
                self._organizations.setdefault(external_id, None)

    def _fetch_people(self, wanted: set[str]) -> None:
        for part in _parts(sorted(wanted)):
            for row in self.session.execute(
                select(Person.external_id, Person.id).where(Person.external_id.in_(part))
            ):
                self._people[row[0]] = row[1]
            for external_id in part:
                self._people.setdefault(external_id, None)

    def start_chunk(self) -> None:
        """Forget the references of the last chunk: memory stays bounded, and records
        written since are found."""
        self._organizations = {}
        self._people = {}
        self.forward = []


def _parts(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _IN_CLAUSE):
        yield values[start : start + _IN_CLAUSE]


def _reference(raw: Any) -> str | None:
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def _contributor_people(raw: Any) -> Iterable[str]:
    """The person external ids in a raw contributors value (a hint; the field decides)."""
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and item.get("person"):
                yield str(item["person"]).strip()
    elif isinstance(raw, str) and "@" in raw:
        for part in raw.split(LIST_SEPARATOR):
            name = part.rpartition(":")[0]
            person = name.partition("@")[2].strip()
            if person:
                yield person

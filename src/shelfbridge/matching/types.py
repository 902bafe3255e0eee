"""The values that cross the matching layers. Plain dataclasses: no database, no numpy."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Target(StrEnum):
    """What a match returns."""

    RESULTS = "results"
    DEMANDS = "demands"
    PEOPLE = "people"
    ORGANIZATIONS = "organizations"


@dataclass(frozen=True)
class MatchAttributes:
    """What filters and visibility look at. Never part of the scored text.

    ``discipline`` is here only for the user's discipline filter: the matcher never scores with
    it (it is also the benchmark's label).
    """

    kind: str | None = None  # result kind, organisation kind, person degree is not a kind
    region_code: str | None = None  # six-digit GB/T 2260 code
    trl: int | None = None
    discipline: str | None = None
    industry: str | None = None  # GB/T 4754 section letter
    org_kind: str | None = None  # kind of the owning / employing organisation
    owner_org_id: int | None = None  # tenant owner (results, demands); None = no owner
    confidentiality: str = "public"  # public | partners | internal
    status: str | None = None


@dataclass(frozen=True)
class MatchDocument:
    """One record as the matcher sees it."""

    target: Target
    record_id: int
    external_id: str
    title: str
    body: str  # abstract / description / expertise / profile text
    keywords: tuple[str, ...] = ()
    attributes: MatchAttributes = field(default_factory=MatchAttributes)

    @property
    def text(self) -> str:
        """The text that is indexed and embedded."""
        parts = [self.title, " ".join(self.keywords), self.body]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class MatchFilters:
    """The user's filters. Empty means no restriction."""

    kinds: tuple[str, ...] = ()
    region_prefixes: tuple[str, ...] = ()  # "33" (a province), "3301" (a city), or a full code
    trl_min: int | None = None
    trl_max: int | None = None
    disciplines: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    org_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Which non-public records the caller may see, resolved from the permission rules.

    ``unrestricted`` callers (the system, platform admins) see everything. Otherwise a record is
    a candidate when it is public, owned by one of ``owner_org_ids``, or one of
    ``granted_record_ids`` (live sharing grants). The service checks the final hits again in the
    database with :func:`shelfbridge.accounts.visibility.visible_clause`.
    """

    unrestricted: bool = False
    owner_org_ids: frozenset[int] = frozenset()
    granted_record_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A record id with one signal's score, as an index backend returns it."""

    record_id: int
    score: float


@dataclass(frozen=True)
class Explanation:
    """Why a hit matched, for a person to read."""

    # query words found in the record, then fragments, then (an English query) the Chinese
    # words it was read as
    matched_terms: tuple[str, ...] = ()
    passages: tuple[str, ...] = ()  # short excerpts of the record that matched best
    signals: dict[str, float] = field(default_factory=dict)  # e.g. lexical, semantic, feedback
    expanded_terms: tuple[str, ...] = ()  # terms the matcher added (pseudo-relevance feedback)


@dataclass(frozen=True)
class Hit:
    target: Target
    record_id: int
    external_id: str
    title: str
    score: float
    explanation: Explanation

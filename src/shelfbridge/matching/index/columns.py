"""Attribute columns of the embedded index, and filters and scope as vectorised masks.

Each :class:`MatchAttributes` field becomes one numpy column: categorical text as small
integer codes into a per-column dictionary (-1 = none), the region code as an integer (a
province or city prefix is then an integer range), the TRL as ``int8`` (-1 = none), the owner
organisation as ``int64`` (-1 = none) and the confidentiality as ``int8``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shelfbridge.matching.types import MatchAttributes, MatchFilters, Scope

BoolArray = npt.NDArray[np.bool_]
CATEGORICAL = ("kind", "discipline", "industry", "org_kind", "status")
CONFIDENTIALITY = {"public": 0, "partners": 1, "internal": 2}
CONFIDENTIALITY_NAMES = {code: name for name, code in CONFIDENTIALITY.items()}


@dataclass
class Columns:
    """The attribute columns of ``n`` records, aligned with their rows."""

    categorical: dict[str, npt.NDArray[np.int32]]
    vocabularies: dict[str, list[str]]
    region: npt.NDArray[np.int64]
    trl: npt.NDArray[np.int8]
    owner: npt.NDArray[np.int64]
    confidentiality: npt.NDArray[np.int8]

    @property
    def rows(self) -> int:
        return int(self.region.shape[0])

    @classmethod
    def from_attributes(cls, attributes: Sequence[MatchAttributes]) -> Columns:
        n = len(attributes)
        vocabularies: dict[str, list[str]] = {}
        categorical: dict[str, npt.NDArray[np.int32]] = {}
        for name in CATEGORICAL:
            codes: dict[str, int] = {}
            column = np.full(n, -1, dtype=np.int32)
            for row, attrs in enumerate(attributes):
                value = getattr(attrs, name)
                if value is not None:
                    column[row] = codes.setdefault(str(value), len(codes))
            categorical[name] = column
            vocabularies[name] = list(codes)
        return cls(
            categorical=categorical,
            vocabularies=vocabularies,
            region=np.array([_region(a.region_code) for a in attributes], dtype=np.int64),
            trl=np.array([-1 if a.trl is None else a.trl for a in attributes], dtype=np.int8),
            owner=np.array(
                [-1 if a.owner_org_id is None else a.owner_org_id for a in attributes],
                dtype=np.int64,
            ),
            confidentiality=np.array(
                [CONFIDENTIALITY.get(a.confidentiality, 2) for a in attributes], dtype=np.int8
            ),
        )

    def take(self, rows: npt.NDArray[np.int64]) -> Columns:
        return Columns(
            categorical={name: col[rows] for name, col in self.categorical.items()},
            vocabularies=self.vocabularies,
            region=self.region[rows],
            trl=self.trl[rows],
            owner=self.owner[rows],
            confidentiality=self.confidentiality[rows],
        )

    def attributes(self, row: int) -> MatchAttributes:
        def cat(name: str) -> str | None:
            code = int(self.categorical[name][row])
            return None if code < 0 else self.vocabularies[name][code]

        region = int(self.region[row])
        trl = int(self.trl[row])
        owner = int(self.owner[row])
        return MatchAttributes(
            kind=cat("kind"),
            region_code=None if region < 0 else f"{region:06d}",
            trl=None if trl < 0 else trl,
            discipline=cat("discipline"),
            industry=cat("industry"),
            org_kind=cat("org_kind"),
            owner_org_id=None if owner < 0 else owner,
            confidentiality=CONFIDENTIALITY_NAMES[int(self.confidentiality[row])],
            status=cat("status"),
        )

    def mask(
        self, filters: MatchFilters, scope: Scope, ids: npt.NDArray[np.int64]
    ) -> BoolArray | None:
        """Rows that pass ``filters`` and ``scope``; ``None`` when every row does."""
        mask: BoolArray | None = None

        def narrow(part: BoolArray) -> None:
            nonlocal mask
            mask = part if mask is None else mask & part

        for name, wanted in (
            ("kind", filters.kinds),
            ("discipline", filters.disciplines),
            ("industry", filters.industries),
            ("org_kind", filters.org_kinds),
        ):
            if wanted:
                vocabulary = self.vocabularies[name]
                codes = [vocabulary.index(v) for v in wanted if v in vocabulary]
                narrow(np.isin(self.categorical[name], np.array(codes, dtype=np.int32)))
        if filters.region_prefixes:
            part = np.zeros(self.rows, dtype=np.bool_)
            for prefix in filters.region_prefixes:
                low, high = _region_range(prefix)
                part |= (self.region >= low) & (self.region <= high)
            narrow(part)
        if filters.trl_min is not None:
            narrow(self.trl >= filters.trl_min)
        if filters.trl_max is not None:
            narrow((self.trl >= 0) & (self.trl <= filters.trl_max))
        if not scope.unrestricted:
            visible = self.confidentiality == 0
            if scope.owner_org_ids:
                owners = np.fromiter(scope.owner_org_ids, dtype=np.int64)
                visible = visible | np.isin(self.owner, owners)
            if scope.granted_record_ids:
                granted = np.fromiter(scope.granted_record_ids, dtype=np.int64)
                visible = visible | np.isin(ids, granted)
            narrow(visible)
        return mask

    def save(self, prefix: str) -> dict[str, npt.NDArray[np.generic]]:
        arrays: dict[str, npt.NDArray[np.generic]] = {
            f"{prefix}region": self.region,
            f"{prefix}trl": self.trl,
            f"{prefix}owner": self.owner,
            f"{prefix}confidentiality": self.confidentiality,
        }
        for name, col in self.categorical.items():
            arrays[f"{prefix}cat_{name}"] = col
        return arrays

    @classmethod
    def load(
        cls,
        arrays: dict[str, npt.NDArray[np.generic]],
        vocabularies: dict[str, list[str]],
        prefix: str,
    ) -> Columns:
        return cls(
            categorical={
                name: np.asarray(arrays[f"{prefix}cat_{name}"], dtype=np.int32)
                for name in CATEGORICAL
            },
            vocabularies=vocabularies,
            region=np.asarray(arrays[f"{prefix}region"], dtype=np.int64),
            trl=np.asarray(arrays[f"{prefix}trl"], dtype=np.int8),
            owner=np.asarray(arrays[f"{prefix}owner"], dtype=np.int64),
            confidentiality=np.asarray(arrays[f"{prefix}confidentiality"], dtype=np.int8),
        )


def concat_columns(parts: Sequence[Columns]) -> Columns:
    """One set of columns for the rows of ``parts`` in order (dictionaries merged)."""
    vocabularies: dict[str, list[str]] = {}
    categorical: dict[str, npt.NDArray[np.int32]] = {}
    for name in CATEGORICAL:
        merged: dict[str, int] = {}
        pieces = []
        for part in parts:
            local = part.vocabularies[name]
            remap = np.array([merged.setdefault(v, len(merged)) for v in local] + [-1], np.int32)
            pieces.append(remap[part.categorical[name]])  # code -1 → last entry, -1
        categorical[name] = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
        vocabularies[name] = list(merged)
    return Columns(
        categorical=categorical,
        vocabularies=vocabularies,
        region=np.concatenate([p.region for p in parts]),
        trl=np.concatenate([p.trl for p in parts]),
        owner=np.concatenate([p.owner for p in parts]),
        confidentiality=np.concatenate([p.confidentiality for p in parts]),
    )


def _region(code: str | None) -> int:
    if not code:
        return -1
    digits = code.strip()[:6]
    return int(digits.ljust(6, "0")) if digits.isdigit() else -1


def _region_range(prefix: str) -> tuple[int, int]:
    digits = "".join(c for c in prefix if c.isdigit())[:6]
    if not digits:
        return (0, 999_999)
    return (int(digits.ljust(6, "0")), int(digits.ljust(6, "9")))

"""Reference data kept as versioned CSV files in ``shelfbridge/reference/``.

``load_reference_data`` brings the tables ``regions``, ``city_clusters``,
``city_cluster_members`` and ``reference_terms`` in line with those files; the lookups below
read the files directly and need no database. The files are built by
``datasets/build_reference.py``. Cluster members carry their own confidence mark and source;
the confidence of regions (all [S]) stays in the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from shelfbridge.registry.models import CityCluster, ClusterMember, ReferenceTerm, Region

REFERENCE_PACKAGE = "shelfbridge"
REFERENCE_FOLDER = "reference"
BATCH = 500
LEVELS = ("province", "city", "county")

_PROVINCE_SUFFIX = re.compile(r"(?:省|市|特别行政区|(?:壮族|回族|维吾尔)?自治区)$")
_REGION_CODE = re.compile(r"\d{6}")


def read_reference_csv(name: str) -> list[dict[str, str]]:
    """The rows of one reference file, as dicts keyed by its header."""
    path = resources.files(REFERENCE_PACKAGE).joinpath(REFERENCE_FOLDER, name)
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _regions(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "level": row["level"],
            "parent_code": row["parent_code"] or None,
            "source": row["source"],
        }
        for row in rows
    ]


def _clusters(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "key": row["key"],
            "name_zh": row["name_zh"],
            "name_en": row["name_en"],
            "tier": int(row["tier"]),
            "plan_doc": row["plan_doc"],
            "plan_year": int(row["plan_year"]) if row["plan_year"] else None,
            "confidence": row["confidence"],
            "source": row["source"],
        }
        for row in rows
    ]


def _members(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "cluster_key": r["cluster_key"],
            "region_code": r["region_code"],
            "coverage": r["coverage"],
            "confidence": r["confidence"],
            "source": r["source"],
        }
        for r in rows
    ]


def _terms(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    columns = ("vocabulary", "code", "label_zh", "label_en", "confidence", "source")
    return [{column: row[column] for column in columns} for row in rows]


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _sync(
    session: Session,
    model: Any,
    keys: tuple[str, ...],
    wanted: list[dict[str, Any]],
    *,
    insert_order: Callable[[dict[str, Any]], Any] | None = None,
    delete_missing: bool = False,
) -> int:
    """Insert missing rows, update differing ones; return how many rows were written."""
    table = model.__table__
    columns = [column.name for column in table.columns]
    existing = {
        tuple(row[key] for key in keys): dict(row)
        for row in session.execute(select(*table.columns)).mappings()
    }
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in wanted:
        key = tuple(row[k] for k in keys)
        current = existing.pop(key, None)
        if current is None:
            new.append(row)
        elif any(current[column] != row[column] for column in columns):
            changed.append(row)
    if insert_order is not None:
        new.sort(key=insert_order)
    for batch in _batches(new):
        session.execute(insert(model), batch)
    for batch in _batches(changed):
        session.execute(update(model), batch)
    removed = 0
    if delete_missing and existing:
        stale = list(existing)
        for start in range(0, len(stale), BATCH):
            chunk = stale[start : start + BATCH]
            target = tuple_(*(table.c[k] for k in keys))
            session.execute(delete(model).where(target.in_(chunk)))
        removed = len(stale)
    return len(new) + len(changed) + removed


def load_reference_data(session: Session) -> dict[str, int]:
    """Upsert the reference files into their tables; the rows written per table.

    Idempotent: a second run writes nothing and returns zeros. Regions are inserted parents
    first (province, city, county) for the self-referencing foreign key. Rows that are no
    longer in the files are kept (organisations and demands may point at them), except
    cluster members, which the files define completely. The caller commits.
    """
    regions = _regions(read_reference_csv("regions.csv"))
    level_rank = {level: rank for rank, level in enumerate(LEVELS)}
    counts = {
        "regions": _sync(
            session,
            Region,
            ("code",),
            regions,
            insert_order=lambda row: (level_rank[row["level"]], row["code"]),
        ),
        "city_clusters": _sync(
            session, CityCluster, ("key",), _clusters(read_reference_csv("city_clusters.csv"))
        ),
        "city_cluster_members": _sync(
            session,
            ClusterMember,
            ("cluster_key", "region_code"),
            _members(read_reference_csv("city_cluster_members.csv")),
            delete_missing=True,
        ),
        "reference_terms": _sync(
            session,
            ReferenceTerm,
            ("vocabulary", "code"),
            _terms(read_reference_csv("reference_terms.csv")),
        ),
    }
    return counts


# ---- lookups (no database needed) ----
def short_province_name(name: str) -> str:
    """北京市 → 北京, 广西壮族自治区 → 广西, 香港特别行政区 → 香港."""
    return _PROVINCE_SUFFIX.sub("", name)


@cache
def _province_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for row in read_reference_csv("regions.csv"):
        if row["level"] == "province":
            names[row["name"]] = row["code"]
            names[short_province_name(row["name"])] = row["code"]
    return names


def province_code_for_name(name: str) -> str | None:
    """The code of a province-level unit named in full or short (北京, 北京市, 内蒙古…)."""
    return _province_names().get(name.strip())


def province_names() -> Iterable[tuple[str, str]]:
    """Every accepted province name (full and short) with its code."""
    return _province_names().items()


def region_descendant_prefix(code: str) -> str:
    """The code prefix shared by a region and all regions inside it.

    ``110000`` → ``11``, ``110100`` → ``1101``, ``110101`` → ``110101``.
    """
    if not _REGION_CODE.fullmatch(code):
        raise ValueError(f"not a six-digit region code: {code!r}")
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code

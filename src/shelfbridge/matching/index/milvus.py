"""The Milvus index backend, for deployments that outgrow one machine.

``SHELFBRIDGE_MILVUS_URI`` selects it: ``http://host:19530`` for a Milvus server or cluster, or
a path ending in ``.db`` for milvus-lite (in-process, what the tests use; it speaks the same
API). Needs the optional extra ``milvus`` (``pip install shelfbridge[milvus]``).

Per target there are two collections:

- ``{prefix}_{target}``: one row per record: ``id`` (the record id, primary key), ``dense``
  (FLOAT_VECTOR, inner product over L2-normalised vectors), ``sparse`` (SPARSE_FLOAT_VECTOR
  holding the record's BM25 document-side weights, one dimension per hashed term), the
  record's term counts and length (JSON and INT64, for feedback and statistics), and the
  attribute fields filters and the visibility scope are written against as boolean filter
  expressions. Missing attribute values are stored as sentinels (``""``, ``-1``) because
  nullable fields are not available everywhere.
- ``{prefix}_{target}_terms``: the collection statistics BM25 needs on the query side: one row
  per hashed term with its document frequency, and row 0 with the number of documents and their
  total length. Milvus requires a vector field in every collection, so it carries a 2-d
  placeholder vector.

Scoring: a record's sparse weight for term *t* is ``tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))``
with the average length at the time the record was written (a rebuild makes it exact); the
query side is ``weight · idf(t)`` with the current document frequencies, so the inner product of
the two is BM25. Terms are hashed to 32-bit dimensions; two terms sharing a hash share their
statistics (rare, and harmless for ranking).

Document frequencies are kept up to date by each upsert and delete (the previous term counts of
a replaced record are read back first). Two processes writing the same record at the same
moment can leave them slightly off; ``shelfbridge index rebuild`` recomputes everything.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from shelfbridge.matching.analysis import with_grams
from shelfbridge.matching.index.base import (
    DENSITY_PENALTY,
    IndexedRecord,
    TermStatistics,
    register_backend,
)
from shelfbridge.matching.types import Candidate, MatchAttributes, MatchFilters, Scope, Target

BM25_K1 = 1.2
BM25_B = 0.75
TOTALS_ID = 0  # the statistics row holding the number of documents and their total length
PLACEHOLDER_DIM = 2
MAX_SPARSE_INDEX = 2**32 - 1  # Milvus accepts sparse dimensions in [0, 2**32 - 1)
QUERY_BATCH = 1000  # ids per `id in [...]` expression
# What a filter value may contain to be written into an expression: no quotes, backslashes or
# control characters (the vocabularies never have them; anything else cannot match anyway).
_SAFE_VALUE = re.compile(r'^[^"\\\x00-\x1f]{1,200}$')
_DIGITS = re.compile(r"^\d{1,6}$")

_STRING_FIELDS = {
    "kind": 40,
    "region_code": 6,
    "discipline": 100,
    "industry": 4,
    "org_kind": 40,
    "confidentiality": 10,
    "status": 20,
}
_INT_FIELDS = ("trl", "owner_org_id")


def term_dimension(term: str) -> int:
    """The sparse dimension of a term: a stable 32-bit hash (not Python's salted hash)."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % MAX_SPARSE_INDEX


def _literal(value: str) -> str | None:
    """A string literal for a filter expression, or None for a value that cannot be one."""
    if not _SAFE_VALUE.match(value):
        return None
    return f'"{value}"'


def _in_list(field: str, values: Iterable[str]) -> str:
    literals = [lit for lit in (_literal(v) for v in values) if lit is not None]
    if not literals:
        return "id < 0"  # nothing can match a value that no record can hold
    return f"{field} in [{', '.join(literals)}]"


def _ids(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in values)


def filter_expression(filters: MatchFilters, scope: Scope) -> str:
    """The boolean expression that keeps only the records inside ``filters`` and ``scope``."""
    parts: list[str] = []
    if filters.kinds:
        parts.append(_in_list("kind", filters.kinds))
    if filters.region_prefixes:
        prefixes = [p for p in filters.region_prefixes if _DIGITS.match(p)]
        if prefixes:
            parts.append("(" + " or ".join(f'region_code like "{p}%"' for p in prefixes) + ")")
        else:
            parts.append("id < 0")
    if filters.trl_min is not None or filters.trl_max is not None:
        low = max(int(filters.trl_min) if filters.trl_min is not None else 0, 0)
        parts.append(f"trl >= {low}")
        if filters.trl_max is not None:
            parts.append(f"trl <= {int(filters.trl_max)}")
    if filters.disciplines:
        parts.append(_in_list("discipline", filters.disciplines))
    if filters.industries:
        parts.append(_in_list("industry", filters.industries))
    if filters.org_kinds:
        parts.append(_in_list("org_kind", filters.org_kinds))
    if not scope.unrestricted:
        visible = ['confidentiality == "public"']
        if scope.owner_org_ids:
            visible.append(f"owner_org_id in [{_ids(sorted(scope.owner_org_ids))}]")
        if scope.granted_record_ids:
            visible.append(f"id in [{_ids(sorted(scope.granted_record_ids))}]")
        parts.append("(" + " or ".join(visible) + ")")
    return " and ".join(parts)


def bm25_document_weights(
    term_counts: Mapping[str, int], average_length: float
) -> dict[int, float]:
    """The sparse vector of one record: BM25's document side for each of its terms."""
    length = sum(term_counts.values())
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(average_length, 1.0))
    weights: dict[int, float] = {}
    for term, tf in term_counts.items():
        if tf <= 0:
            continue
        dimension = term_dimension(term)
        weight = tf * (BM25_K1 + 1) / (tf + norm)
        weights[dimension] = weights.get(dimension, 0.0) + weight
    return weights


def bm25_idf(documents: int, document_frequency: int) -> float:
    """BM25's inverse document frequency (the Lucene form, never negative)."""
    return math.log(1 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


class MilvusBackend:
    """:class:`~shelfbridge.matching.index.base.IndexBackend` on a Milvus server or
    milvus-lite, through ``pymilvus.MilvusClient``."""

    def __init__(self, uri: str, *, prefix: str = "shelfbridge", token: str = "") -> None:
        try:
            from pymilvus import MilvusClient
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "The Milvus index backend needs pymilvus: pip install 'shelfbridge[milvus]'"
            ) from error
        self.uri = uri
        self.prefix = prefix
        self._client: Any = MilvusClient(uri=uri, token=token) if token else MilvusClient(uri)
        self._ready: set[str] = set()
        self._densities: dict[str, bool] = {}  # collection → whether it has the density field
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ collections
    def _name(self, target: Target) -> str:
        return f"{self.prefix}_{Target(target).value}"

    def _stats_name(self, target: Target) -> str:
        return f"{self._name(target)}_terms"

    def _exists(self, name: str) -> bool:
        if name in self._ready:
            return True
        if not self._client.has_collection(name):
            return False
        self._client.load_collection(name)
        self._ready.add(name)
        return True

    def _has_density(self, name: str) -> bool:
        """Collections made before records carried a density lack the field: they are read
        and written without it (dense scores stay plain inner products) until a rebuild."""
        if name not in self._densities:
            fields = self._client.describe_collection(name).get("fields", [])
            self._densities[name] = any(f.get("name") == "density" for f in fields)
        return self._densities[name]

    def _create_records(self, name: str, dim: int) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("external_id", DataType.VARCHAR, max_length=100)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("terms", DataType.JSON)
        schema.add_field("length", DataType.INT64)
        schema.add_field("density", DataType.FLOAT)
        for field, size in _STRING_FIELDS.items():
            schema.add_field(field, DataType.VARCHAR, max_length=size)
        for field in _INT_FIELDS:
            schema.add_field(field, DataType.INT64)
        index = self._client.prepare_index_params()
        index.add_index("dense", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        self._client.create_collection(
            name, schema=schema, index_params=index, consistency_level="Strong"
        )
        self._client.load_collection(name)
        self._ready.add(name)

    def _create_stats(self, name: str) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("term", DataType.VARCHAR, max_length=200)
        schema.add_field("df", DataType.INT64)
        schema.add_field("total_length", DataType.INT64)
        schema.add_field("placeholder", DataType.FLOAT_VECTOR, dim=PLACEHOLDER_DIM)
        index = self._client.prepare_index_params()
        index.add_index("placeholder", index_type="FLAT", metric_type="L2")
        self._client.create_collection(
            name, schema=schema, index_params=index, consistency_level="Strong"
        )
        self._client.load_collection(name)
        self._ready.add(name)

    def _query(self, name: str, expression: str, fields: list[str]) -> list[dict[str, Any]]:
        return [
            dict(row) for row in self._client.query(name, filter=expression, output_fields=fields)
        ]

    def _query_ids(self, name: str, ids: Sequence[int], fields: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), QUERY_BATCH):
            chunk = ids[start : start + QUERY_BATCH]
            rows.extend(self._query(name, f"id in [{_ids(chunk)}]", ["id", *fields]))
        return rows

    # ------------------------------------------------------------------ statistics
    def _totals(self, target: Target) -> tuple[int, int]:
        name = self._stats_name(target)
        if not self._exists(name):
            return 0, 0
        rows = self._query_ids(name, [TOTALS_ID], ["df", "total_length"])
        if not rows:
            return 0, 0
        return int(rows[0]["df"]), int(rows[0]["total_length"])

    def _frequencies(self, target: Target, terms: Iterable[str]) -> dict[int, int]:
        name = self._stats_name(target)
        dimensions = sorted({term_dimension(t) for t in terms} - {TOTALS_ID})
        if not dimensions or not self._exists(name):
            return {}
        return {int(r["id"]): int(r["df"]) for r in self._query_ids(name, dimensions, ["df"])}

    def _apply_statistics(
        self,
        target: Target,
        removed: Sequence[Mapping[str, int]],
        added: Sequence[Mapping[str, int]],
    ) -> None:
        """Move the statistics from the ``removed`` term counts to the ``added`` ones."""
        name = self._stats_name(target)
        if not self._exists(name):
            self._create_stats(name)
        delta: Counter[int] = Counter()
        spelled: dict[int, str] = {}
        for counts in added:
            for dimension in {term_dimension(t) for t in counts}:
                delta[dimension] += 1
            for term in counts:
                spelled.setdefault(term_dimension(term), term)
        for counts in removed:
            for dimension in {term_dimension(t) for t in counts}:
                delta[dimension] -= 1
        documents, total_length = self._totals(target)
        documents += len(added) - len(removed)
        total_length += sum(sum(c.values()) for c in added) - sum(sum(c.values()) for c in removed)
        changed = [d for d, change in delta.items() if change and d != TOTALS_ID]
        current = self._frequencies_by_dimension(name, changed)
        placeholder = [0.0] * PLACEHOLDER_DIM
        upserts: list[dict[str, Any]] = [
            {
                "id": TOTALS_ID,
                "term": "",
                "df": max(documents, 0),
                "total_length": max(total_length, 0),
                "placeholder": placeholder,
            }
        ]
        gone: list[int] = []
        for dimension in changed:
            df, term = current.get(dimension, (0, spelled.get(dimension, "")))
            df += delta[dimension]
            if df <= 0:
                gone.append(dimension)
                continue
            upserts.append(
                {
                    "id": dimension,
                    "term": spelled.get(dimension, term)[:200],
                    "df": df,
                    "total_length": 0,
                    "placeholder": placeholder,
                }
            )
        for start in range(0, len(upserts), QUERY_BATCH):
            self._client.upsert(name, upserts[start : start + QUERY_BATCH])
        for start in range(0, len(gone), QUERY_BATCH):
            self._client.delete(name, ids=gone[start : start + QUERY_BATCH])

    def _frequencies_by_dimension(
        self, name: str, dimensions: Sequence[int]
    ) -> dict[int, tuple[int, str]]:
        if not dimensions:
            return {}
        return {
            int(r["id"]): (int(r["df"]), str(r["term"]))
            for r in self._query_ids(name, list(dimensions), ["df", "term"])
        }

    def statistics(self, target: Target, terms: Sequence[str]) -> TermStatistics:
        documents, total_length = self._totals(target)
        frequencies = self._frequencies(target, terms)
        return TermStatistics(
            documents=documents,
            average_length=total_length / documents if documents else 0.0,
            document_frequency={t: frequencies.get(term_dimension(t), 0) for t in terms},
        )

    # ------------------------------------------------------------------ writing
    def upsert(self, target: Target, records: Sequence[IndexedRecord]) -> None:
        if not records:
            return
        with self._lock:
            name = self._name(target)
            if not self._exists(name):
                self._create_records(name, int(np.asarray(records[0].vector).shape[-1]))
            # One row per id: the last one given wins, as it would in a dict.
            latest = {record.record_id: record for record in records}
            ids = list(latest)
            previous = [
                dict(row.get("terms") or {}) for row in self._query_ids(name, ids, ["terms"])
            ]
            added = [dict(r.term_counts) for r in latest.values()]
            self._apply_statistics(target, previous, added)
            documents, total_length = self._totals(target)
            average = total_length / documents if documents else 1.0
            density = self._has_density(name)
            rows = [self._row(record, average, density) for record in latest.values()]
            for start in range(0, len(rows), QUERY_BATCH):
                self._client.upsert(name, rows[start : start + QUERY_BATCH])

    @staticmethod
    def _row(record: IndexedRecord, average_length: float, density: bool) -> dict[str, Any]:
        counts = {str(t): int(c) for t, c in record.term_counts.items() if c > 0}
        attributes = record.attributes
        row: dict[str, Any] = {
            "id": int(record.record_id),
            "external_id": record.external_id[:100],
            "dense": np.asarray(record.vector, dtype=np.float32).tolist(),
            # An empty sparse vector is refused: a record with no terms gets a zero weight
            # on dimension 0, which no query uses (0 is the totals row of the statistics).
            "sparse": bm25_document_weights(counts, average_length) or {TOTALS_ID: 0.0},
            "terms": counts,
            "length": sum(counts.values()),
        }
        if density:
            row["density"] = float(record.density)
        for field, size in _STRING_FIELDS.items():
            value = getattr(attributes, field)
            row[field] = "" if value is None else str(value)[:size]
        for field in _INT_FIELDS:
            value = getattr(attributes, field)
            row[field] = -1 if value is None else int(value)
        return row

    def delete(self, target: Target, record_ids: Sequence[int]) -> None:
        if not record_ids:
            return
        with self._lock:
            name = self._name(target)
            if not self._exists(name):
                return
            ids = sorted({int(i) for i in record_ids})
            stored = [dict(row.get("terms") or {}) for row in self._query_ids(name, ids, ["terms"])]
            if not stored:
                return
            self._apply_statistics(target, stored, [])
            for start in range(0, len(ids), QUERY_BATCH):
                self._client.delete(name, ids=ids[start : start + QUERY_BATCH])

    def clear(self, target: Target) -> None:
        with self._lock:
            for name in (self._name(target), self._stats_name(target)):
                if self._client.has_collection(name):
                    self._client.drop_collection(name)
                self._ready.discard(name)
                self._densities.pop(name, None)

    def count(self, target: Target) -> int:
        name = self._name(target)
        if not self._exists(name):
            return 0
        rows = self._query(name, "", ["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    # ------------------------------------------------------------------ reading
    def lexical(
        self,
        target: Target,
        query_terms: Mapping[str, float],
        limit: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]:
        name = self._name(target)
        if limit <= 0 or not query_terms or not self._exists(name):
            return []
        statistics = self.statistics(target, list(query_terms))
        query: dict[int, float] = {}
        for term, weight in query_terms.items():
            df = statistics.document_frequency.get(term, 0)
            if df <= 0 or weight <= 0:
                continue
            dimension = term_dimension(term)
            idf = bm25_idf(statistics.documents, df)
            query[dimension] = query.get(dimension, 0.0) + float(weight) * idf
        if not query:
            return []
        return self._search(name, "sparse", query, limit, filters, scope)

    def dense(
        self,
        target: Target,
        vector: npt.NDArray[np.float32],
        limit: int,
        filters: MatchFilters,
        scope: Scope,
    ) -> list[Candidate]:
        name = self._name(target)
        if limit <= 0 or not self._exists(name):
            return []
        data = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
        if not self._has_density(name):
            return self._search(name, "dense", data, limit, filters, scope)
        # Milvus ranks by the bare inner product: ask for twice as many, which ``_search``
        # ranks again by the density-corrected score (the penalty moves few records far)
        return self._search(name, "dense", data, 2 * limit, filters, scope, penalise=True)[:limit]

    def _search(
        self,
        name: str,
        field: str,
        data: Any,
        limit: int,
        filters: MatchFilters,
        scope: Scope,
        *,
        penalise: bool = False,
    ) -> list[Candidate]:
        result = self._client.search(
            name,
            data=[data],
            anns_field=field,
            limit=int(limit),
            filter=filter_expression(filters, scope),
            search_params={"metric_type": "IP"},
            output_fields=["id", "density"] if penalise else ["id"],
        )
        found: list[Candidate] = []
        for hit in result[0] if result else []:
            score = float(hit["distance"])
            if field == "sparse" and score <= 0:
                continue
            if penalise:
                entity = hit.get("entity") or {}
                score -= DENSITY_PENALTY * float(entity.get("density", 0.0) or 0.0)
            found.append(Candidate(record_id=int(hit["id"]), score=score))
        found.sort(key=lambda c: (-c.score, c.record_id))
        return found

    def vectors(self, target: Target, record_ids: Sequence[int]) -> npt.NDArray[np.float32]:
        name = self._name(target)
        if not record_ids or not self._exists(name):
            return np.zeros((len(record_ids), 0), dtype=np.float32)
        rows = {
            int(r["id"]): r["dense"] for r in self._query_ids(name, list(record_ids), ["dense"])
        }
        dim = len(next(iter(rows.values()))) if rows else 0
        out = np.zeros((len(record_ids), dim), dtype=np.float32)
        for position, ident in enumerate(record_ids):
            if ident in rows:
                out[position] = np.asarray(rows[ident], dtype=np.float32)
        return out

    def term_counts(self, target: Target, record_ids: Sequence[int]) -> list[Mapping[str, int]]:
        name = self._name(target)
        if not record_ids or not self._exists(name):
            return [{} for _ in record_ids]
        rows = {
            int(r["id"]): {str(t): int(c) for t, c in (r.get("terms") or {}).items()}
            for r in self._query_ids(name, list(record_ids), ["terms"])
        }
        return [rows.get(int(ident), {}) for ident in record_ids]

    def holding(
        self, target: Target, record_ids: Sequence[int], terms: Sequence[str]
    ) -> list[bool]:
        held = [with_grams(counts) for counts in self.term_counts(target, record_ids)]
        return [bool(counts) and all(t in counts for t in terms) for counts in held]

    def attributes(self, target: Target, record_ids: Sequence[int]) -> list[MatchAttributes | None]:
        """The stored attributes of these records, in the given order (None: not indexed)."""
        name = self._name(target)
        if not record_ids or not self._exists(name):
            return [None for _ in record_ids]
        fields = [*_STRING_FIELDS, *_INT_FIELDS]
        found: dict[int, MatchAttributes] = {}
        for row in self._query_ids(name, list(record_ids), fields):
            values: dict[str, Any] = {}
            for field in _STRING_FIELDS:
                values[field] = row[field] or None
            for field in _INT_FIELDS:
                values[field] = None if int(row[field]) < 0 else int(row[field])
            values["confidentiality"] = values["confidentiality"] or "public"
            found[int(row["id"])] = MatchAttributes(**values)
        return [found.get(int(ident)) for ident in record_ids]

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        if self.uri.endswith(".db"):
            # milvus-lite runs in this process; stop its server thread with the client.
            try:
                from milvus_lite.server_manager import server_manager_instance
            except ImportError:  # pragma: no cover - a server URI needs no milvus-lite
                return
            server_manager_instance.release_server(self.uri)

    def describe(self) -> dict[str, Any]:
        """What ``shelfbridge index info`` shows about this backend."""
        return {"backend": "milvus", "uri": self.uri, "prefix": self.prefix}


def create_milvus_backend(
    *, uri: str | None = None, settings: Any = None, **_: Any
) -> MilvusBackend:
    """The registered factory: ``uri`` or, else, ``settings.milvus_uri``."""
    address = uri or (getattr(settings, "milvus_uri", None) if settings is not None else None)
    if not address:
        raise RuntimeError("The Milvus index backend needs SHELFBRIDGE_MILVUS_URI.")
    return MilvusBackend(address)


register_backend("milvus", create_milvus_backend)

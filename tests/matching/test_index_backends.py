"""The same behaviour from every index backend: upsert, delete, filters, the visibility scope,
lexical (BM25) and dense ranking. Milvus runs through milvus-lite on a few records (it is slow
to start); the embedded backend is the default one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfbridge.matching.index.base import DENSITY_PENALTY, IndexedRecord
from shelfbridge.matching.lexical import score_documents
from shelfbridge.matching.types import MatchAttributes, MatchFilters, Scope, Target

ALL = Scope(unrestricted=True)
T = Target.RESULTS


def _vector(*values: float) -> Any:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _record(ident: int, terms: dict[str, int], vector: Any, **attributes: Any) -> IndexedRecord:
    return IndexedRecord(
        record_id=ident,
        external_id=f"R-{ident}",
        vector=vector,
        term_counts=terms,
        attributes=MatchAttributes(**attributes),
    )


RECORDS = [
    _record(
        1,
        {"锂电池": 3, "正极": 2, "材料": 1},
        _vector(1, 0, 0, 0),
        kind="invention_patent",
        region_code="330100",
        trl=4,
        discipline="材料科学",
        org_kind="university",
        owner_org_id=10,
    ),
    _record(
        2,
        {"锂电池": 1, "回收": 2, "材料": 1},
        _vector(0.9, 0.1, 0, 0),
        kind="paper",
        region_code="110000",
        trl=7,
        discipline="化学",
        org_kind="research_institute",
        owner_org_id=11,
    ),
    _record(
        3,
        {"水稻": 2, "育种": 2, "材料": 1},
        _vector(0, 1, 0, 0),
        kind="plant_variety",
        region_code="320500",
        trl=None,
        org_kind="university",
        owner_org_id=10,
        confidentiality="internal",
    ),
    _record(
        4,
        {"锂电池": 2, "隔膜": 1},
        _vector(0.7, 0, 0.7, 0),
        kind="invention_patent",
        region_code="330200",
        trl=5,
        owner_org_id=12,
        confidentiality="partners",
        industry="C",
    ),
]


def _embedded(tmp_path: Path) -> Any:
    module = pytest.importorskip("shelfbridge.matching.index.embedded")
    from shelfbridge.matching.index.base import backend_factory

    assert module is not None
    return backend_factory("embedded")(path=tmp_path / "index")


def _milvus(tmp_path: Path) -> Any:
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    from shelfbridge.matching.index.milvus import MilvusBackend

    return MilvusBackend(str(tmp_path / "milvus.db"))


@pytest.fixture(params=["embedded", "milvus"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    made = _embedded(tmp_path) if request.param == "embedded" else _milvus(tmp_path)
    made.upsert(T, RECORDS)
    yield made
    made.close()


def _ids(candidates: list[Any]) -> list[int]:
    return [c.record_id for c in candidates]


def test_upsert_counts_and_replaces_records(backend: Any) -> None:
    assert backend.count(T) == 4
    assert backend.count(Target.DEMANDS) == 0
    changed = _record(2, {"钠电池": 1}, _vector(0, 0, 0, 1), kind="paper", region_code="110000")
    backend.upsert(T, [changed])
    assert backend.count(T) == 4
    assert _ids(backend.lexical(T, {"钠电池": 1.0}, 10, MatchFilters(), ALL)) == [2]
    assert 2 not in _ids(backend.lexical(T, {"回收": 1.0}, 10, MatchFilters(), ALL))
    assert backend.term_counts(T, [2]) == [{"钠电池": 1}]
    assert backend.statistics(T, ["回收"]).document_frequency["回收"] == 0


def test_delete_removes_a_record_and_its_statistics(backend: Any) -> None:
    before = backend.statistics(T, ["锂电池"])
    backend.delete(T, [1, 999])
    assert backend.count(T) == 3
    assert 1 not in _ids(backend.lexical(T, {"锂电池": 1.0}, 10, MatchFilters(), ALL))
    assert 1 not in _ids(backend.dense(T, _vector(1, 0, 0, 0), 10, MatchFilters(), ALL))
    after = backend.statistics(T, ["锂电池"])
    assert after.documents == before.documents - 1
    assert after.document_frequency["锂电池"] == before.document_frequency["锂电池"] - 1


def test_lexical_scores_are_bm25(backend: Any) -> None:
    query = {"锂电池": 1.0, "材料": 0.5}
    found = backend.lexical(T, query, 10, MatchFilters(), ALL)
    stored = [dict(r.term_counts) for r in RECORDS]
    statistics = backend.statistics(T, list(query))
    assert statistics.documents == 4
    assert statistics.average_length == pytest.approx(4.5)
    assert dict(statistics.document_frequency) == {"锂电池": 3, "材料": 3}
    expected = score_documents(query, stored, {"锂电池": 3, "材料": 3}, 4, 4.5)
    order = sorted(range(4), key=lambda i: -expected[i])
    assert _ids(found) == [RECORDS[i].record_id for i in order if expected[i] > 0]
    for candidate in found:
        position = [r.record_id for r in RECORDS].index(candidate.record_id)
        assert candidate.score == pytest.approx(float(expected[position]), rel=1e-4)


def test_lexical_prefers_rare_terms(backend: Any) -> None:
    # "材料" is in three records, "回收" in one: the record with the rare term comes first.
    assert _ids(backend.lexical(T, {"材料": 1.0, "回收": 1.0}, 1, MatchFilters(), ALL)) == [2]
    assert backend.lexical(T, {"不存在": 1.0}, 10, MatchFilters(), ALL) == []


def test_dense_ranks_by_inner_product(backend: Any) -> None:
    found = backend.dense(T, _vector(1, 0, 0, 0), 3, MatchFilters(), ALL)
    assert _ids(found) == [1, 2, 4]
    assert found[0].score == pytest.approx(1.0, abs=1e-5)


def test_dense_scores_subtract_half_the_stored_density(backend: Any) -> None:
    # CSLS: record 5 is as close to the query as record 1 but sits in a crowded neighbourhood
    crowded = IndexedRecord(5, "R-5", _vector(1, 0, 0, 0), {"枢纽": 1}, MatchAttributes(), 0.3)
    backend.upsert(T, [crowded])
    found = backend.dense(T, _vector(1, 0, 0, 0), 3, MatchFilters(), ALL)
    assert _ids(found) == [1, 2, 5]
    assert found[2].score == pytest.approx(1.0 - DENSITY_PENALTY * 0.3, abs=1e-3)


def test_filters_keep_only_matching_records(backend: Any) -> None:
    def lexical(filters: MatchFilters) -> list[int]:
        return sorted(_ids(backend.lexical(T, {"材料": 1.0, "锂电池": 1.0}, 10, filters, ALL)))

    assert lexical(MatchFilters(kinds=("invention_patent",))) == [1, 4]
    assert lexical(MatchFilters(region_prefixes=("33",))) == [1, 4]
    assert lexical(MatchFilters(region_prefixes=("3301", "11"))) == [1, 2]
    assert lexical(MatchFilters(trl_min=4, trl_max=5)) == [1, 4]
    assert lexical(MatchFilters(trl_max=9)) == [1, 2, 4]  # a record without TRL never passes
    assert lexical(MatchFilters(disciplines=("化学",))) == [2]
    assert lexical(MatchFilters(industries=("C",))) == [4]
    assert lexical(MatchFilters(org_kinds=("university",))) == [1, 3]
    assert lexical(MatchFilters(kinds=('x" or id > 0 or kind == "',))) == []
    dense = backend.dense(T, _vector(1, 0, 0, 0), 10, MatchFilters(region_prefixes=("11",)), ALL)
    assert _ids(dense) == [2]


def test_scope_hides_what_the_caller_may_not_see(backend: Any) -> None:
    terms = {"材料": 1.0, "锂电池": 1.0, "水稻": 1.0}

    def seen(scope: Scope) -> set[int]:
        lexical = set(_ids(backend.lexical(T, terms, 10, MatchFilters(), scope)))
        dense = set(_ids(backend.dense(T, _vector(1, 1, 1, 1), 10, MatchFilters(), scope)))
        assert lexical <= dense
        return dense

    assert seen(Scope()) == {1, 2}
    assert seen(Scope(owner_org_ids=frozenset({10}))) == {1, 2, 3}
    assert seen(Scope(owner_org_ids=frozenset({99}), granted_record_ids=frozenset({4}))) == {
        1,
        2,
        4,
    }
    assert seen(ALL) == {1, 2, 3, 4}


def test_stored_vectors_and_terms_come_back_in_the_order_asked(backend: Any) -> None:
    vectors = backend.vectors(T, [3, 1])
    assert vectors.shape == (2, 4)
    assert np.allclose(vectors[0], _vector(0, 1, 0, 0), atol=1e-5)
    assert backend.term_counts(T, [4, 3]) == [
        {"锂电池": 2, "隔膜": 1},
        {"水稻": 2, "育种": 2, "材料": 1},
    ]


def test_holding_tells_which_records_hold_every_term_in_the_order_asked(backend: Any) -> None:
    with_grams = _record(
        5, {"石墨烯": 1, "#石墨": 1, "#墨烯": 1, "电极": 1, "#电极": 1}, _vector(0, 0, 1, 0)
    )
    backend.upsert(T, [with_grams])
    for compacted in (False, True):
        ask = [5, 4, 999, 1]  # 999: not indexed, holds nothing
        assert backend.holding(T, ask, ["锂电池"]) == [False, True, False, True]
        assert backend.holding(T, ask, ["锂电池", "隔膜"]) == [False, True, False, False]
        assert backend.holding(T, ask, ["#石墨", "#墨烯"]) == [True, False, False, False]
        assert backend.holding(T, ask, ["#石墨", "#墨烯", "#电池"]) == [False] * 4
        # records stored without grams (indexed before them): the grams inside their words
        assert backend.holding(T, ask, ["#锂电", "#电池"]) == [False, True, False, True]
        assert backend.holding(T, ask, ["#池隔"]) == [False] * 4  # across two of 4's words
        if compacted or not hasattr(backend, "compact"):
            break
        backend.compact(T)  # the embedded index: the log, then a segment
    backend.delete(T, [4])
    assert backend.holding(T, [4, 1], ["锂电池"]) == [False, True]


def test_clear_empties_one_target(backend: Any) -> None:
    backend.upsert(Target.DEMANDS, [RECORDS[0]])
    backend.clear(T)
    assert backend.count(T) == 0
    assert backend.count(Target.DEMANDS) == 1
    assert backend.lexical(T, {"锂电池": 1.0}, 10, MatchFilters(), ALL) == []


def test_a_milvus_collection_made_before_densities_still_reads_and_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _milvus(tmp_path)
    from pymilvus import CollectionSchema

    add_field = CollectionSchema.add_field

    def earlier_schema(self: Any, field_name: str, *args: Any, **kwargs: Any) -> Any:
        return self if field_name == "density" else add_field(self, field_name, *args, **kwargs)

    try:
        monkeypatch.setattr(CollectionSchema, "add_field", earlier_schema)
        backend.upsert(T, RECORDS)  # creates the collection without the density field
        monkeypatch.undo()
        crowded = IndexedRecord(9, "R-9", _vector(0, 0, 0, 1), {"新": 1}, MatchAttributes(), 0.4)
        backend.upsert(T, [crowded])
        found = backend.dense(T, _vector(0, 0, 0, 1), 1, MatchFilters(), ALL)
        assert _ids(found) == [9] and found[0].score == pytest.approx(1.0, abs=1e-5)
    finally:
        backend.close()

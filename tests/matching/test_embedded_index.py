"""The embedded index: incremental writes, segments and merges, filters and scope as masks,
several instances (processes) on one directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shelfbridge.matching.index import embedded, segment
from shelfbridge.matching.index.base import IndexedRecord
from shelfbridge.matching.index.embedded import EmbeddedIndex
from shelfbridge.matching.lexical import score_documents
from shelfbridge.matching.types import MatchAttributes, MatchFilters, Scope, Target

T = Target.RESULTS
ALL = Scope(unrestricted=True)
NONE = MatchFilters()
DIM = 8
GRAMS = ("#光伏", "#组件", "#回收", "#储能")


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def record(i: int, terms: dict[str, int] | None = None, **attrs: object) -> IndexedRecord:
    return IndexedRecord(
        record_id=i,
        external_id=f"R-{i}",
        vector=vector(i),
        term_counts=terms or {"common": 1, f"own{i}": 1},
        attributes=MatchAttributes(**attrs),  # type: ignore[arg-type]
    )


def ids(candidates: list) -> list[int]:
    return [c.record_id for c in candidates]


@pytest.fixture
def index(tmp_path: Path) -> EmbeddedIndex:
    return EmbeddedIndex(tmp_path / "index", log_limit=8, bulk_rows=6, merge_factor=2)


def test_small_writes_go_to_the_log_and_large_ones_to_a_segment(index: EmbeddedIndex) -> None:
    index.upsert(T, [record(1), record(2)])
    assert index.segment_sizes(T) == [2]  # no segment yet, two records in the log
    index.upsert(T, [record(i) for i in range(3, 10)])
    assert index.segment_sizes(T) == [9, 0]  # log + batch became one segment
    assert index.count(T) == 9


def test_upsert_replaces_the_stored_version(index: EmbeddedIndex) -> None:
    index.upsert(T, [record(i) for i in range(10)])
    index.upsert(T, [record(3, {"changed": 2})])
    assert index.count(T) == 10
    assert index.term_counts(T, [3]) == [{"changed": 2}]
    assert ids(index.lexical(T, {"own3": 1.0}, 5, NONE, ALL)) == []
    assert ids(index.lexical(T, {"changed": 1.0}, 5, NONE, ALL)) == [3]


def test_delete_hides_records_in_segments_and_log(index: EmbeddedIndex) -> None:
    index.upsert(T, [record(i) for i in range(10)])
    index.upsert(T, [record(20)])
    index.delete(T, [2, 20])
    assert index.count(T) == 9
    found = ids(index.lexical(T, {"common": 1.0}, 50, NONE, ALL))
    assert 2 not in found and 20 not in found
    assert 2 not in ids(index.dense(T, vector(2), 50, NONE, ALL))
    assert index.external_ids(T, [2, 3]) == [None, "R-3"]


def test_many_small_writes_compact_and_merge(index: EmbeddedIndex) -> None:
    for i in range(40):
        index.upsert(T, [record(i)])
    index.delete(T, list(range(0, 40, 2)))
    index.compact(T)
    assert index.count(T) == 20
    assert sum(index.segment_sizes(T)) == 20  # merges dropped the deleted rows
    assert sorted(ids(index.lexical(T, {"common": 1.0}, 100, NONE, ALL))) == list(range(1, 40, 2))


def test_another_instance_sees_every_committed_write(tmp_path: Path) -> None:
    writer = EmbeddedIndex(tmp_path / "ix", log_limit=5, bulk_rows=100)
    reader = EmbeddedIndex(tmp_path / "ix")
    writer.upsert(T, [record(1)])
    assert reader.count(T) == 1
    writer.upsert(T, [record(i) for i in range(2, 9)])  # crosses the log limit: a segment
    assert reader.count(T) == 8
    writer.delete(T, [1])
    assert reader.count(T) == 7
    assert ids(reader.lexical(T, {"own5": 1.0}, 3, NONE, ALL)) == [5]
    writer.clear(T)
    assert reader.count(T) == 0


def test_uncommitted_bytes_of_a_crashed_writer_are_ignored(tmp_path: Path) -> None:
    index = EmbeddedIndex(tmp_path / "ix")
    index.upsert(T, [record(1)])
    log = next((tmp_path / "ix" / "results").glob("log-*.jsonl"))
    with open(log, "ab") as fh:
        fh.write(b'{"op":"del","id":1')  # half a line, never committed
    fresh = EmbeddedIndex(tmp_path / "ix")
    assert fresh.count(T) == 1
    fresh.upsert(T, [record(2)])
    assert EmbeddedIndex(tmp_path / "ix").count(T) == 2


def test_filters_are_masks_over_attribute_columns(index: EmbeddedIndex) -> None:
    index.upsert(
        T,
        [
            record(1, kind="patent", region_code="330106", trl=7),
            record(2, kind="patent", region_code="110101", trl=3),
            record(3, kind="software", region_code="330201", trl=None),
            record(4, kind="patent", region_code="330102", trl=5),
            record(5, kind="patent", region_code="330102", trl=9),
            record(6, kind="patent", region_code="330102", trl=5),
        ],
    )

    def found(filters: MatchFilters) -> list[int]:
        return sorted(ids(index.lexical(T, {"common": 1.0}, 10, filters, ALL)))

    assert found(MatchFilters(kinds=("software",))) == [3]
    assert found(MatchFilters(region_prefixes=("33",))) == [1, 3, 4, 5, 6]
    assert found(MatchFilters(region_prefixes=("3301", "11"))) == [1, 2, 4, 5, 6]
    assert found(MatchFilters(trl_min=5, trl_max=7)) == [1, 4, 6]
    assert found(MatchFilters(kinds=("patent",), trl_max=4)) == [2]
    assert found(MatchFilters(kinds=("unknown-kind",))) == []


def test_scope_shows_public_owned_and_granted_records_only(index: EmbeddedIndex) -> None:
    index.upsert(
        T,
        [
            record(1),
            record(2, confidentiality="internal", owner_org_id=10),
            record(3, confidentiality="partners", owner_org_id=11),
            record(4, confidentiality="internal", owner_org_id=12),
            record(5, confidentiality="partners", owner_org_id=12),
            record(6),
        ],
    )

    def visible(scope: Scope) -> list[int]:
        found = set(ids(index.lexical(T, {"common": 1.0}, 10, NONE, scope)))
        assert found == set(ids(index.dense(T, vector(1), 10, NONE, scope)))
        return sorted(found)

    assert visible(Scope()) == [1, 6]
    assert visible(Scope(owner_org_ids=frozenset({10}))) == [1, 2, 6]
    assert visible(Scope(granted_record_ids=frozenset({3}))) == [1, 3, 6]
    assert visible(ALL) == [1, 2, 3, 4, 5, 6]


def test_stored_attributes_round_trip(index: EmbeddedIndex) -> None:
    attrs = MatchAttributes(
        kind="patent",
        region_code="330106",
        trl=4,
        discipline="材料",
        industry="C",
        org_kind="university",
        owner_org_id=7,
        confidentiality="partners",
        status="active",
    )
    index.upsert(
        T, [IndexedRecord(1, "R-1", vector(1), {"a": 1}, attrs)] + [record(i) for i in range(2, 8)]
    )
    assert index.attributes(T, [1]) == [attrs]


def test_large_segments_search_through_an_inverted_file(tmp_path: Path) -> None:
    index = EmbeddedIndex(tmp_path / "ix", ivf_min_rows=500, bulk_rows=100)
    index.upsert(T, [record(i) for i in range(2000)])
    assert index.segment_sizes(T) == [2000, 0]
    assert index._view(T).segments[0].segment.centroids is not None
    for probe in (5, 777, 1999):
        assert ids(index.dense(T, vector(probe), 1, NONE, ALL)) == [probe]
    np.testing.assert_allclose(
        # int8 rows: within half a quantisation step (a row's largest magnitude / 127)
        index.vectors(T, [777, 5]),
        np.vstack([vector(777), vector(5)]),
        atol=0.004,
    )
    assert index.term_counts(T, [777]) == [{"common": 1, "own777": 1}]


def test_vectors_of_another_dimension_are_refused(index: EmbeddedIndex) -> None:
    index.upsert(T, [record(1)])
    bad = IndexedRecord(2, "R-2", np.ones(3, np.float32), {"a": 1}, MatchAttributes())
    with pytest.raises(ValueError):
        index.upsert(T, [bad])


def test_statistics_count_live_documents_and_frequencies(index: EmbeddedIndex) -> None:
    index.upsert(T, [record(i) for i in range(10)])
    stats = index.statistics(T, ["common", "own4", "absent"])
    assert stats.documents == 10
    assert stats.document_frequency == {"common": 10, "own4": 1, "absent": 0}
    assert stats.average_length == pytest.approx(2.0)


def test_probed_lists_score_as_the_gathered_rows_would(tmp_path: Path) -> None:
    index = EmbeddedIndex(tmp_path / "ix", ivf_min_rows=500, bulk_rows=100)
    index.upsert(T, [record(i) for i in range(3000)])
    segment = index._view(T).segments[0].segment
    assert segment.centroids is not None
    for seed in (1, 2, 3):
        query = vector(10_000 + seed)
        rows = segment.probe(query)
        scores = segment.vectors32(rows) @ query
        best = np.lexsort((rows, -scores))[:20]
        found_rows, found_scores = segment.dense(query, None, 20)
        assert found_rows.tolist() == rows[best].tolist()
        np.testing.assert_allclose(found_scores, scores[best], rtol=1e-5)


def test_dense_scans_on_two_threads_find_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "PARALLEL_SCAN_ROWS", 0)
    index = EmbeddedIndex(tmp_path / "ix", bulk_rows=50, merge_factor=8, ivf_min_rows=120)
    for start in range(0, 400, 100):  # several segments, some with an inverted file
        index.upsert(T, [record(i) for i in range(start, start + 100 + start // 2)])
    index.upsert(T, [record(i) for i in range(1000, 1010)])  # and the log
    assert len(index.segment_sizes(T)) > 2
    one = EmbeddedIndex(tmp_path / "ix", parallel_scan=False)
    for seed in range(5):
        query = vector(20_000 + seed)
        assert index.dense(T, query, 30, NONE, ALL) == one.dense(T, query, 30, NONE, ALL)


def test_bm25_of_a_segment_matches_the_reference_formula(index: EmbeddedIndex) -> None:
    counts = [{"a": 1 + i % 3, "b": i % 2, f"own{i}": 1, "c": 2} for i in range(12)]
    index.upsert(
        T,
        [IndexedRecord(i, f"R-{i}", vector(i), c, MatchAttributes()) for i, c in enumerate(counts)],
    )
    query = {"a": 1.0, "b": 0.5, "own3": 2.0, "missing": 1.0}
    stats = index.statistics(T, list(query))
    expected = score_documents(
        query,
        [{t: n for t, n in c.items() if n} for c in counts],
        stats.document_frequency,
        stats.documents,
        stats.average_length,
    )
    found = {c.record_id: c.score for c in index.lexical(T, query, 20, NONE, ALL)}
    assert set(found) == set(range(12))
    np.testing.assert_allclose([found[i] for i in range(12)], expected, rtol=1e-5)


def test_vectors_come_from_the_live_version_of_each_record(index: EmbeddedIndex) -> None:
    index.upsert(T, [record(i) for i in range(10)])  # a segment
    moved = IndexedRecord(4, "R-4", vector(99), {"x": 1}, MatchAttributes())
    index.upsert(T, [moved])  # the log shadows the segment's row
    index.delete(T, [6])
    found = index.vectors(T, [4, 6, 2, 123])
    np.testing.assert_allclose(found[0], vector(99), atol=0.004)
    assert not found[1].any() and not found[3].any()
    np.testing.assert_allclose(found[2], vector(2), atol=0.004)
    assert index.term_counts(T, [4, 6]) == [{"x": 1}, {}]


def _segment_records(start: int, count: int) -> list[IndexedRecord]:
    """Records whose terms, attribute values and external ids differ from segment to
    segment, so a merge has to remap term columns and attribute dictionaries."""
    kinds = ("paper", "patent", None)
    return [
        IndexedRecord(
            record_id=i,
            external_id=f"成果-{i}",
            vector=vector(i),
            term_counts={
                "common": 1 + i % 3,
                f"part{start}": 1,
                f"own{i}": 2,
                "#电池": 1 + i % 2,  # a gram every record holds
                GRAMS[i % len(GRAMS)]: 1,  # grams shared across the parts
                "#" + chr(0x4E00 + start + i) + "子": 3,  # a gram of its own
            },
            attributes=MatchAttributes(
                kind=kinds[i % 3],
                discipline=f"d{start}-{i % 2}",
                region_code="110105" if i % 2 else None,
                trl=i % 9 or None,
                owner_org_id=i % 4 or None,
                confidentiality=("public", "partners", "internal")[i % 3],
            ),
            density=(i % 7) / 10,
        )
        for i in range(start, start + count)
    ]


@pytest.mark.parametrize("ivf_min_rows", [1 << 62, 40])
def test_a_merged_segment_holds_exactly_the_live_rows_of_its_inputs(
    tmp_path: Path, ivf_min_rows: int
) -> None:
    sources = [_segment_records(0, 30), _segment_records(100, 45), _segment_records(200, 12)]
    built = [segment.build_segment(r, DIM) for r in sources]
    built[1].save(tmp_path / "seg")  # one input memory-mapped, as in the index
    parts = [built[0], segment.Segment.load(tmp_path / "seg"), built[2]]
    masks = [np.arange(p.rows) % 3 != 1 for p in parts]
    merged = segment.merge_segments(
        list(zip(parts, masks, strict=True)), DIM, ivf_min_rows=ivf_min_rows
    )

    live = [
        r
        for records, mask in zip(sources, masks, strict=True)
        for r, keep in zip(records, mask, strict=True)
        if keep
    ]
    assert merged.rows == len(live)
    assert (merged.centroids is not None) == (len(live) >= ivf_min_rows)
    rows = merged.rows_of([r.record_id for r in live])
    assert sorted(rows.tolist()) == list(range(merged.rows))
    for r, row in zip(live, rows.tolist(), strict=True):
        assert merged.external_id(row) == r.external_id
        assert merged.term_counts(row) == r.term_counts
        assert merged.columns.attributes(row) == r.attributes
        assert merged.doc_length[row] == sum(r.term_counts.values())
        expected_vector, expected_scale = segment.quantise(np.asarray(r.vector)[None, :])
        assert np.array_equal(merged.vectors[row], expected_vector[0])
        assert merged.scales[row] == expected_scale[0]
        assert merged.density[row] == np.float32(r.density)
    # the postings (by term) are the same matrix as the rows' terms (by document)
    every = {t for r in live for t in r.term_counts}
    vocabulary = len(merged.terms) + len(merged.gram_codes)
    held = [merged.term(col) for col in range(vocabulary)]
    assert len(set(held)) == len(held) and set(held) >= every  # (with the dead rows' terms)
    assert not any(t.startswith("#") for t in merged.terms)  # grams are held as codes
    for term, col in zip(every, merged.term_ids(list(every)).tolist(), strict=True):
        assert col >= 0 and merged.term(col) == term
        start, end = merged.post_indptr[col], merged.post_indptr[col + 1]
        postings = dict(
            zip(
                merged.post_rows[start:end].tolist(),
                merged.post_tf[start:end].tolist(),
                strict=True,
            )
        )
        expected = {
            row: r.term_counts[term]
            for r, row in zip(live, rows.tolist(), strict=True)
            if term in r.term_counts
        }
        assert postings == expected


def test_grams_are_held_as_codes_and_found_after_a_save(tmp_path: Path) -> None:
    records = _segment_records(0, 20)
    built = segment.build_segment(records, DIM)
    assert built.gram_codes.dtype == np.uint32
    assert np.all(np.diff(built.gram_codes.astype(np.int64)) > 0)  # sorted, distinct
    built.save(tmp_path / "seg")
    loaded = segment.Segment.load(tmp_path / "seg")
    asked = ["#电池", GRAMS[0], "common", "#池电", "#"]
    frequencies = loaded.document_frequencies(asked).tolist()
    assert frequencies == built.document_frequencies(asked).tolist()
    assert frequencies[0] == 20 and frequencies[1] > 0 and frequencies[2] == 20
    assert frequencies[3:] == [0, 0]  # a gram nobody holds; a bare mark
    rows, scores = loaded.lexical({"#电池": 1.0}, 10.0, None, 5)
    assert len(rows) == 5 and np.all(scores > 0)


def test_kmeans_assigns_each_row_to_its_nearest_centroid() -> None:
    vectors, scales = segment.quantise(np.vstack([vector(i) for i in range(3000)]))
    centroids, assignment = segment.spherical_kmeans(vectors, scales, 40)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, rtol=1e-5)
    wide = segment.dequantise(vectors, scales)
    assert np.array_equal(assignment, np.argmax(wide @ centroids.T, axis=1))
    assert len(set(assignment.tolist())) > 20  # the rows spread over the lists


def test_int8_rows_keep_inner_products_within_a_few_ten_thousandths() -> None:
    # unit vectors of an embedder's size (the tests' 8 dimensions would quantise coarsely)
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((501, 384)).astype(np.float32)
    wide /= np.linalg.norm(wide, axis=1, keepdims=True)
    wide, query = wide[:500], wide[500]
    vectors, scales = segment.quantise(wide)
    assert vectors.dtype == np.int8 and np.abs(vectors).max() == 127
    error = np.abs(segment.dequantise(vectors, scales) @ query - wide @ query)
    assert error.mean() < 5e-4 and error.max() < 2e-3
    zero, zero_scale = segment.quantise(np.zeros((1, DIM), np.float32))
    assert not zero.any() and zero_scale[0] == 0


def test_a_segment_written_with_float16_vectors_still_loads(tmp_path: Path) -> None:
    records = _segment_records(0, 20)
    built = segment.build_segment(records, DIM)
    built.save(tmp_path / "seg")
    # the format before int8: float16 rows, no scales and no densities
    wide = np.vstack([np.asarray(r.vector, np.float32) for r in records])
    rows = built.rows_of([r.record_id for r in records])
    old = np.zeros((built.rows, DIM), np.float16)
    old[rows] = wide.astype(np.float16)
    np.save(tmp_path / "seg" / "vectors.npy", old)
    meta = json.loads((tmp_path / "seg" / "meta.json").read_text())
    meta["arrays"] = [a for a in meta["arrays"] if a not in ("scales", "density")]
    (tmp_path / "seg" / "meta.json").write_text(json.dumps(meta))
    loaded = segment.Segment.load(tmp_path / "seg")
    np.testing.assert_allclose(loaded.vectors32(rows), wide, atol=0.004)
    assert not loaded.density.any()

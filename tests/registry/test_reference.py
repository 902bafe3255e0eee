"""Reference data: the CSV files in shelfbridge/reference/ and their loader."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select

from shelfbridge.core.database import Database
from shelfbridge.registry.models import CityCluster, ClusterMember, ReferenceTerm, Region
from shelfbridge.registry.reference import (
    load_reference_data,
    province_code_for_name,
    read_reference_csv,
    region_descendant_prefix,
)

FILES = {
    "regions": ("regions.csv", Region),
    "city_clusters": ("city_clusters.csv", CityCluster),
    "city_cluster_members": ("city_cluster_members.csv", ClusterMember),
    "reference_terms": ("reference_terms.csv", ReferenceTerm),
}


def _table_counts(database: Database) -> dict[str, int]:
    with database.unit_of_work(write=False) as session:
        return {
            table: session.scalar(select(func.count()).select_from(model)) or 0
            for table, (_file, model) in FILES.items()
        }


def _csv_counts() -> dict[str, int]:
    return {table: len(read_reference_csv(file)) for table, (file, _model) in FILES.items()}


def _snapshot(database: Database) -> dict[str, list[tuple[object, ...]]]:
    with database.unit_of_work(write=False) as session:
        return {
            table: sorted(tuple(row) for row in session.execute(select(*model.__table__.columns)))
            for table, (_file, model) in FILES.items()
        }


def test_load_into_empty_tables_writes_every_csv_row(database: Database) -> None:
    with database.unit_of_work() as session:
        for model in (ClusterMember, CityCluster, ReferenceTerm, Region):
            session.execute(delete(model))
    assert set(_table_counts(database).values()) == {0}

    with database.unit_of_work() as session:
        written = load_reference_data(session)

    assert written == _csv_counts()
    assert _table_counts(database) == _csv_counts()


def test_loaded_counts_equal_csv_rows(database: Database) -> None:
    assert _table_counts(database) == _csv_counts()


def test_second_load_changes_nothing(database: Database) -> None:
    before = _snapshot(database)
    with database.unit_of_work() as session:
        written = load_reference_data(session)
    assert written == dict.fromkeys(FILES, 0)
    assert _snapshot(database) == before


def test_load_repairs_changed_and_stale_rows(database: Database) -> None:
    before = _snapshot(database)
    with database.unit_of_work() as session:
        session.get_one(Region, "110000").name = "北平"
        session.get_one(ReferenceTerm, ("trl", "1")).label_en = "changed"
        session.add(
            ClusterMember(
                cluster_key="jingjinji",
                region_code="650100",
                coverage="whole",
                confidence="U",
                source="test",
            )
        )
    with database.unit_of_work() as session:
        written = load_reference_data(session)
    assert written == {
        "regions": 1,
        "city_clusters": 0,
        "city_cluster_members": 1,
        "reference_terms": 1,
    }
    assert _snapshot(database) == before


def test_csv_rows_carry_source_and_confidence() -> None:
    for file, _model in FILES.values():
        rows = read_reference_csv(file)
        assert rows, file
        for row in rows:
            assert row["source"].strip(), (file, row)
            assert row["confidence"] in {"C", "S", "U"}, (file, row)


def test_regions_are_well_formed() -> None:
    rows = read_reference_csv("regions.csv")
    codes = {row["code"] for row in rows}
    assert len(codes) == len(rows)
    for row in rows:
        assert re.fullmatch(r"\d{6}", row["code"])
        assert row["level"] in {"province", "city", "county"}
        if row["level"] == "province":
            assert row["parent_code"] == ""
            assert row["code"].endswith("0000")
        else:
            assert row["parent_code"] in codes
            assert row["code"].startswith(region_descendant_prefix(row["parent_code"]))
    for code in ("110000", "810000", "820000", "710000"):
        assert code in codes


def test_every_cluster_member_is_a_region() -> None:
    regions = {row["code"] for row in read_reference_csv("regions.csv")}
    clusters = {row["key"]: row for row in read_reference_csv("city_clusters.csv")}
    members = read_reference_csv("city_cluster_members.csv")
    assert members
    for member in members:
        assert member["region_code"] in regions, member
        assert member["cluster_key"] in clusters, member
        assert member["coverage"] in {"whole", "partial"}
    assert {m["cluster_key"] for m in members} == set(clusters)
    pairs = [(m["cluster_key"], m["region_code"]) for m in members]
    assert len(pairs) == len(set(pairs))


def test_every_cluster_member_is_a_region_in_the_database(database: Database) -> None:
    with database.unit_of_work(write=False) as session:
        orphans = session.scalars(
            select(ClusterMember.region_code).where(
                ClusterMember.region_code.not_in(select(Region.code))
            )
        ).all()
    assert orphans == []


def test_clusters_cover_the_three_tiers_and_unconfirmed_ones_are_marked() -> None:
    clusters = {row["key"]: row for row in read_reference_csv("city_clusters.csv")}
    assert {row["tier"] for row in clusters.values()} == {"1", "2", "3"}
    assert clusters["shandong_peninsula"]["confidence"] == "U"
    assert clusters["jingjinji"]["confidence"] == "S"
    members = read_reference_csv("city_cluster_members.csv")
    greater_bay = {m["region_code"] for m in members if m["cluster_key"] == "greater_bay_area"}
    assert {"810000", "820000", "440100", "440300"} <= greater_bay


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("北京", "110000"),
        ("北京市", "110000"),
        ("内蒙古", "150000"),
        ("内蒙古自治区", "150000"),
        ("广西", "450000"),
        ("广西壮族自治区", "450000"),
        ("宁夏回族自治区", "640000"),
        ("新疆", "650000"),
        ("新疆维吾尔自治区", "650000"),
        ("西藏自治区", "540000"),
        ("黑龙江省", "230000"),
        ("黑龙江", "230000"),
        (" 重庆 ", "500000"),
        ("香港", "810000"),
        ("澳门特别行政区", "820000"),
        ("台湾", "710000"),
    ],
)
def test_province_code_for_name(name: str, code: str) -> None:
    assert province_code_for_name(name) == code


@pytest.mark.parametrize("name", ["", "北", "广州", "中国", "市辖区", "Beijing"])
def test_province_code_for_unknown_name(name: str) -> None:
    assert province_code_for_name(name) is None


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("110000", "11"),
        ("110100", "1101"),
        ("110101", "110101"),
        ("441900", "4419"),
        ("810000", "81"),
        ("429004", "429004"),
    ],
)
def test_region_descendant_prefix(code: str, prefix: str) -> None:
    assert region_descendant_prefix(code) == prefix


@pytest.mark.parametrize("code", ["11", "1101000", "abcdef", ""])
def test_region_descendant_prefix_rejects_non_codes(code: str) -> None:
    with pytest.raises(ValueError):
        region_descendant_prefix(code)

"""The demo data in datasets/demo/: well-formed import files whose references all resolve."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shelfbridge.registry import vocabularies as v
from shelfbridge.registry.reference import read_reference_csv

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
DEMO = DATASETS / "demo"
KINDS = ("organizations", "people", "results", "demands")
REQUIRED = {
    "organizations": ("external_id", "name", "kind"),
    "people": ("external_id", "name"),
    "results": ("external_id", "kind", "title"),
    "demands": ("external_id", "enterprise", "title", "description"),
}
ALLOWED = {
    "organizations": {
        "external_id", "name", "name_en", "kind", "credit_code", "region_code", "parent",
        "website", "description",
    },
    "people": {
        "external_id", "name", "organization", "title", "degree", "expertise", "profile", "email",
    },
    "results": {
        "external_id", "kind", "title", "abstract", "keywords", "discipline", "ipc_codes", "trl",
        "owner", "contributors", "confidentiality", "status",
    },
    "demands": {
        "external_id", "enterprise", "title", "description", "industry", "region_code",
        "budget_min", "budget_max", "deadline", "confidentiality", "status",
    },
}  # fmt: skip


@cache
def records(kind: str) -> list[dict[str, Any]]:
    lines = (DEMO / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines, kind
    parsed = []
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        assert isinstance(record, dict), (kind, number)
        parsed.append(record)
    return parsed


@cache
def region_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in read_reference_csv("regions.csv"))


@cache
def section_codes() -> frozenset[str]:
    rows = read_reference_csv("reference_terms.csv")
    return frozenset(r["code"] for r in rows if r["vocabulary"] == v.INDUSTRY_VOCABULARY)


@pytest.mark.parametrize("kind", KINDS)
def test_every_line_parses_with_required_and_known_fields(kind: str) -> None:
    for record in records(kind):
        for name in REQUIRED[kind]:
            assert isinstance(record.get(name), str) and record[name].strip(), (kind, record)
        assert set(record) <= ALLOWED[kind], (kind, set(record) - ALLOWED[kind])
        assert len(record["external_id"]) <= 100


@pytest.mark.parametrize("kind", KINDS)
def test_external_ids_are_unique(kind: str) -> None:
    ids = [r["external_id"] for r in records(kind)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("kind", KINDS)
def test_files_are_small_utf8_without_escaped_chinese(kind: str) -> None:
    path = DEMO / f"{kind}.jsonl"
    assert path.stat().st_size < 20 * 1024 * 1024
    text = path.read_text(encoding="utf-8")
    assert "\\u" not in text  # written with ensure_ascii=False
    assert text.endswith("\n")


def test_organizations() -> None:
    orgs = records("organizations")
    ids = {o["external_id"] for o in orgs}
    for org in orgs:
        assert org["kind"] in v.ORGANIZATION_KINDS
        assert len(org["name"]) <= 200
        if "region_code" in org:
            assert org["region_code"] in region_codes(), org
        if "parent" in org:
            assert org["parent"] in ids, org
            assert org["parent"] != org["external_id"]
    labs = [o for o in orgs if o["kind"] == "state_key_lab"]
    assert labs
    assert all("parent" in lab and "region_code" in lab for lab in labs)
    names = [o["name"] for o in orgs]
    assert len(names) == len(set(names))


def test_people_reference_organizations_and_carry_no_labels() -> None:
    org_ids = {o["external_id"] for o in records("organizations")}
    for person in records("people"):
        assert person.get("organization") in org_ids, person
        assert not person.get("expertise")
        assert len(person["name"]) <= 100


def test_people_profiles_are_the_projects_they_lead() -> None:
    """A leader's profile names each NKRDP project they lead by its title and year, and
    nothing else: the programme is benchmark ground truth and stays out of the registry."""
    with open(DATASETS / "nkrdp" / "PubNKRDP.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    projects = {f"{' '.join(r['title'].split())}（{r['year']}年）" for r in rows}
    people = records("people")
    assert all(p.get("profile") for p in people)
    prefix = "国家重点研发计划项目负责人："
    for person in people:
        profile = person["profile"]
        assert profile.startswith(prefix) and profile.endswith("。"), person
        assert len(profile) <= 5000
        listed = profile.removeprefix(prefix).removesuffix("。").split("；")
        assert set(listed) <= projects, person


def test_results() -> None:
    results = [r for r in records("results") if not r["external_id"].startswith("RES-DEMO-")]
    assert len(results) == 9_000
    with_abstract = [r for r in results if r.get("abstract")]
    assert len(with_abstract) == 1_000
    for result in results:
        assert result["kind"] == "paper"
        assert result.get("confidentiality", v.PUBLIC) == v.PUBLIC
        assert "owner" not in result
        assert len(result["title"]) <= 500
        assert isinstance(result.get("keywords", []), list)
        assert len(result.get("discipline") or "") <= 100
    assert all(r.get("keywords") and r.get("discipline") for r in with_abstract)


def test_hand_written_results_are_labelled_confidential_and_owned_by_a_university() -> None:
    orgs = {o["external_id"]: o for o in records("organizations")}
    demo = [r for r in records("results") if r["external_id"].startswith("RES-DEMO-")]
    assert len(demo) == 4
    for result in demo:
        assert result["abstract"].startswith("示例成果")
        assert result["confidentiality"] in (v.INTERNAL, v.PARTNERS)
        assert orgs[result["owner"]]["kind"] == "university"
        assert sum(Decimal(c["share"]) for c in result["contributors"]) == 100
    owners = {r["owner"] for r in demo if r["confidentiality"] == v.INTERNAL}
    assert len(owners) == 2


def test_demands() -> None:
    demands = records("demands")
    assert 25 <= len(demands) <= 40
    orgs = {o["external_id"]: o for o in records("organizations")}
    for number, demand in enumerate(demands, start=1):
        assert demand["external_id"] == f"DEM-{number:03d}"
        enterprise = orgs[demand["enterprise"]]
        assert enterprise["kind"] == "enterprise"
        assert "示例" in enterprise["description"]
        assert demand["industry"] in section_codes()
        assert demand["region_code"] in region_codes()
        low, high = demand["budget_min"], demand["budget_max"]
        assert re.fullmatch(r"\d+\.\d{2}", low) and re.fullmatch(r"\d+\.\d{2}", high)
        assert Decimal(low) <= Decimal(high)
        assert re.fullmatch(r"2027-\d{2}-\d{2}", demand["deadline"])
        assert demand.get("confidentiality", v.PUBLIC) in v.CONFIDENTIALITY
        assert demand.get("status", "open") in v.DEMAND_STATUSES
    assert len({d["industry"] for d in demands}) >= 12
    assert len({d["region_code"][:2] for d in demands}) >= 15
    assert len({d["enterprise"] for d in demands}) >= 12


@pytest.mark.parametrize("folder", ["csl", "nkrdp", "divisions", "maps", "demo"])
def test_every_source_folder_has_a_notice(folder: str) -> None:
    notice = (DATASETS / folder / "NOTICE").read_text(encoding="utf-8")
    assert "Licence" in notice or "ILLUSTRATIVE" in notice

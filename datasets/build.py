"""Build the demo data in ``datasets/`` from the real sources (run with the project's venv).

    python datasets/build.py [--shared /work/shared/data]

1. Copies the raw source files byte for byte into ``csl/``, ``nkrdp/``, ``divisions/`` and
   ``maps/`` (each folder has a hand-written NOTICE naming source, commit and licence).
2. Rebuilds the reference CSVs of ``src/shelfbridge/reference/`` (``build_reference.py``).
3. Writes ``demo/*.jsonl`` in the import format of ``docs/import-format.md`` from the raw copies
   and from ``demo/handwritten.toml``. The rules used (names cleaned, kinds and regions
   inferred) are described in ``demo/NOTICE``.

Only step 1 reads the shared folder; the output is deterministic (same input, same bytes).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import build_reference  # noqa: E402

from shelfbridge.registry.reference import (  # noqa: E402
    province_code_for_name,
    province_names,
    read_reference_csv,
)

DEFAULT_SHARED = Path("/work/shared/data")
RAW_FILES = {
    "csl/csl_dev.jsonl": "csl/csl_dev.jsonl",
    "csl/csl_titles.jsonl": "csl/csl_titles.jsonl",
    "stats/PubNKRDP.csv": "nkrdp/PubNKRDP.csv",
    "stats/PubSKLMost.csv": "nkrdp/PubSKLMost.csv",
    "divisions/provinces.csv": "divisions/provinces.csv",
    "divisions/cities.csv": "divisions/cities.csv",
    "divisions/areas.csv": "divisions/areas.csv",
    "maps/china.json": "maps/china.json",
}
DEMO = HERE / "demo"
MAX_FILE_BYTES = 20 * 1024 * 1024


class BuildError(Exception):
    pass


# ---------------------------------------------------------------- ids and names
def stable_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:12]}"


def org_id(name: str) -> str:
    return stable_id("ORG", name)


def person_id(name: str, institution: str) -> str:
    return stable_id("PER", name, institution)


# Fixes of extraction errors seen in the sources, applied after the general cleaning.
NAME_FIXES = {
    "中国航发哈尔滨东安发动机有": "中国航发哈尔滨东安发动机有限公司",  # truncated in PubNKRDP.csv
}
_CJK = r"\u3400-\u9fff"


def clean_name(raw: str) -> str:
    """Normalise an organisation name: spaces, brackets, variant characters."""
    text = raw.replace("\xa0", " ").strip()
    text = text.replace("(", "（").replace(")", "）")
    text = re.sub(r"\s+", " ", text)
    text = re.sub(rf"(?<=[{_CJK}（）]) | (?=[{_CJK}（）])", "", text)
    text = text.replace("硏", "研")  # U+784F, a variant of 研 in a few source rows
    return NAME_FIXES.get(text, text)


def clean_person(raw: str, institution: str) -> str:
    text = re.sub(r"\s+", " ", raw.replace("\xa0", " ")).strip()
    # A few names start with the last character of the institution's line in the source PDF
    # (究崔光磊 for 崔光磊 of …研究所, 司唐广笛 for 唐广笛 of …公司).
    if re.fullmatch(rf"[{_CJK}]{{4}}", text) and text[0] in institution[-3:]:
        text = text[1:]
    return text


# Complete host names end like this; a 、 or / between two complete names separates joint
# hosts, anywhere else it is a line break of the source PDF (…有限公、司, …研究、所).
_HOST_END = ("大学", "学院", "研究院", "研究所", "研究生院", "公司", "中心")


def split_hosts(raw: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[、/]", raw)]
    if len(parts) > 1 and all(
        len(p) >= 4 and p.endswith(_HOST_END) and not p.startswith("第") for p in parts
    ):
        return [clean_name(p) for p in parts]
    return [clean_name("".join(parts))]


# ---------------------------------------------------------------- kind inference
_TRAILING_BRACKETS = re.compile(r"(?:（[^（）]*）)+$")
KIND_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("enterprise", ("公司", "厂")),
    ("research_institute", ("科学院",)),
    ("university", ("大学", "学院", "研究生院")),
    ("service_agency", ("联盟", "协会", "联合会", "促进会", "促进中心")),
    ("research_institute", ("研究所", "研究院", "研究总院", "研究中心", "实验室", "天文台")),
]
_SERVICE_WORDS = ("检验", "检测", "认证")
_ENTERPRISE_WORDS = ("公司", "集团", "有限")


def infer_kind(name: str) -> str:
    """Kind from the name's last word; see demo/NOTICE for the rule."""
    core = _TRAILING_BRACKETS.sub("", name)
    for kind, endings in KIND_RULES:
        if core.endswith(endings):
            return kind
    if any(word in core for word in _ENTERPRISE_WORDS):
        return "enterprise"
    if any(word in core for word in _SERVICE_WORDS):
        return "service_agency"
    return "research_institute"


# ---------------------------------------------------------------- region inference
# Well-known cities looked for in names (provincial capitals, sub-provincial and other large
# cities whose names are not common words). Left out on purpose, among others: 中山 (中山大学
# is in Guangzhou), 广安 (广安门医院 is in Beijing), 酒泉, 大同, 日照, 德州, 泰安, 三明.
_KNOWN_CITY_NAMES = (
    "石家庄 唐山 保定 秦皇岛 邢台 邯郸 沧州 廊坊 衡水 张家口 承德 太原 晋城 呼和浩特 包头 "
    "鄂尔多斯 赤峰 沈阳 大连 鞍山 抚顺 本溪 丹东 锦州 营口 盘锦 葫芦岛 长春 哈尔滨 大庆 "
    "齐齐哈尔 牡丹江 佳木斯 南京 苏州 无锡 常州 徐州 南通 扬州 镇江 连云港 盐城 泰州 淮安 "
    "杭州 宁波 温州 绍兴 嘉兴 湖州 金华 台州 舟山 衢州 合肥 芜湖 蚌埠 淮南 淮北 马鞍山 铜陵 "
    "安庆 福州 厦门 泉州 漳州 莆田 龙岩 宁德 南昌 景德镇 九江 赣州 济南 青岛 烟台 威海 淄博 "
    "潍坊 东营 济宁 临沂 菏泽 聊城 枣庄 郑州 洛阳 新乡 焦作 安阳 开封 平顶山 南阳 许昌 商丘 "
    "三门峡 漯河 鹤壁 武汉 宜昌 襄阳 十堰 荆州 长沙 株洲 湘潭 岳阳 衡阳 广州 深圳 珠海 佛山 "
    "东莞 汕头 韶关 湛江 茂名 惠州 江门 肇庆 南宁 桂林 柳州 海口 三亚 成都 绵阳 德阳 自贡 "
    "攀枝花 泸州 乐山 南充 宜宾 遂宁 贵阳 遵义 昆明 拉萨 西安 宝鸡 咸阳 榆林 延安 汉中 兰州 "
    "天水 金昌 嘉峪关 西宁 银川 乌鲁木齐 克拉玛依"
)
KNOWN_CITIES = _KNOWN_CITY_NAMES.split()
# Names whose place word is not where the organisation is.
REGION_OVERRIDES: dict[str, str | None] = {
    "河北工业大学": "120000",  # in Tianjin
}


@dataclass
class PlaceFinder:
    places: dict[str, str] = field(default_factory=dict)  # place word → province code
    pattern: re.Pattern[str] = field(default_factory=lambda: re.compile("$^"))

    @classmethod
    def build(cls) -> PlaceFinder:
        places = dict(province_names())
        cities = {
            r["name"]: r["parent_code"]
            for r in read_reference_csv("regions.csv")
            if r["level"] == "city"
        }
        for city in KNOWN_CITIES:
            province = cities.get(city + "市")
            if province is None:
                raise BuildError(f"known city {city} is not a city in regions.csv")
            places[city] = province
        # Every other city name is matched too, but means nothing: so 马鞍山 is not read as
        # 鞍山, nor 中山 as anything.
        others = {n.removesuffix("市") for n in cities if n.endswith("市") and len(n) > 2}
        words = sorted(set(places) | others, key=lambda w: (-len(w), w))
        return cls(places, re.compile("|".join(map(re.escape, words))))

    def provinces_in(self, text: str) -> set[str]:
        found = (self.places.get(m.group(0)) for m in self.pattern.finditer(text))
        return {code for code in found if code}

    def province_of(self, name: str) -> str | None:
        """The province named in ``name``; None when none, or when the names disagree.

        A place in brackets wins (中国石油大学（北京）, 香港中文大学（深圳）).
        """
        if name in REGION_OVERRIDES:
            return REGION_OVERRIDES[name]
        for inside in re.findall(r"（([^（）]*)）", name):
            found = self.provinces_in(inside)
            if len(found) == 1:
                return found.pop()
        found = self.provinces_in(name)
        return found.pop() if len(found) == 1 else None


# ---------------------------------------------------------------- records
@dataclass
class Org:
    name: str
    kind: str
    region_code: str | None = None
    parent: str | None = None
    description: str | None = None
    lab_provinces: set[str] = field(default_factory=set)

    @property
    def external_id(self) -> str:
        return org_id(self.name)

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "external_id": self.external_id,
            "name": self.name,
            "kind": self.kind,
        }
        if self.region_code:
            record["region_code"] = self.region_code
        if self.parent:
            record["parent"] = self.parent
        if self.description:
            record["description"] = self.description
        return record


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# Kinds whose seat is taken from their labs' province when the name names no place; an
# enterprise group's labs are often away from its seat.
LAB_PROVINCE_KINDS = ("university", "research_institute")
SKL_TYPES = {
    "SKL": "学科国家重点实验室",
    "FSKL": "企业国家重点实验室",
    "PSKL": "省部共建国家重点实验室",
}


def build_organizations(
    finder: PlaceFinder,
) -> tuple[list[Org], list[Org], list[dict[str, str]]]:
    """Institutions (NKRDP leads and lab hosts) and labs; plus the people: one per (leader,
    institution), their profile the projects they lead (titles and years, never the
    programme, which is benchmark ground truth)."""
    nkrdp = read_csv(HERE / "nkrdp" / "PubNKRDP.csv")
    labs_raw = read_csv(HERE / "nkrdp" / "PubSKLMost.csv")
    institutions: dict[str, Org] = {}

    def institution(name: str) -> Org:
        if name not in institutions:
            institutions[name] = Org(name, infer_kind(name), finder.province_of(name))
        return institutions[name]

    people: dict[str, tuple[str, str, list[str]]] = {}
    for row in nkrdp:
        name = clean_name(row["institution"])
        if not name:
            raise BuildError(f"NKRDP project {row['NO']} has no institution")
        org = institution(name)
        leader = clean_person(row["chairman"], name)
        if leader:
            pid = person_id(leader, name)
            projects = people.setdefault(pid, (leader, org.external_id, []))[2]
            projects.append(f"{' '.join(row['title'].split())}（{row['year']}年）")

    names = [row["name"].strip() for row in labs_raw]
    shared_names = {n for n in names if names.count(n) > 1}
    labs: list[Org] = []
    seen: set[str] = set()
    for row, lab_name in zip(labs_raw, names, strict=True):
        hosts = [institution(host) for host in split_hosts(row["institution"])]
        province = province_code_for_name(row["province"])
        if province is None:
            raise BuildError(f"lab {lab_name}: unknown province {row['province']!r}")
        if lab_name not in seen:
            # The province of a joint lab is its first host's; co-hosts may be elsewhere.
            hosts[0].lab_provinces.add(province)
        seen.add(lab_name)
        display = f"{lab_name}（{hosts[0].name}）" if lab_name in shared_names else lab_name
        description = (
            f"{SKL_TYPES.get(row['type'], row['type'])}（{row['year']}年名单）。"
            f"领域：{row['area']}。依托单位：{'、'.join(h.name for h in hosts)}。"
            f"主管部门：{row['administrator'].strip()}。"
        )
        labs.append(Org(display, "state_key_lab", province, hosts[0].external_id, description))

    for org in institutions.values():
        if (
            org.region_code is None
            and org.kind in LAB_PROVINCE_KINDS
            and len(org.lab_provinces) == 1
        ):
            org.region_code = next(iter(org.lab_provinces))
    persons = [
        {
            "external_id": pid,
            "name": leader,
            "organization": org_id,
            "profile": f"国家重点研发计划项目负责人：{'；'.join(projects)}。",
        }
        for pid, (leader, org_id, projects) in people.items()
    ]
    return list(institutions.values()), labs, persons


# ---------------------------------------------------------------- hand-written records
def build_handwritten(
    regions: set[str], sections: set[str]
) -> tuple[list[Org], list[dict[str, Any]]]:
    data = tomllib.loads((DEMO / "handwritten.toml").read_text(encoding="utf-8"))
    enterprises: dict[str, Org] = {}
    for item in data["enterprise"]:
        if item["region_code"] not in regions:
            raise BuildError(f"enterprise {item['name']}: unknown region {item['region_code']}")
        description = (
            f"示例企业（虚构），仅用于演示，不对应任何真实企业。主营：{item['business']}。"
        )
        enterprises[item["key"]] = Org(
            item["name"], "enterprise", item["region_code"], description=description
        )
    for item in data.get("organization", []):
        if item["kind"] not in ("fund", "government") or item["region_code"] not in regions:
            raise BuildError(f"organization {item['name']}: bad kind or region")
        enterprises[item["name"]] = Org(
            item["name"], item["kind"], item["region_code"], description=item["about"]
        )
    demands: list[dict[str, Any]] = []
    for number, item in enumerate(data["demand"], start=1):
        enterprise = enterprises[item["enterprise"]]
        low, high = Decimal(item["budget_min"]), Decimal(item["budget_max"])
        if item["industry"] not in sections or not low <= high:
            raise BuildError(f"demand {number}: bad industry or budget")
        if not re.fullmatch(r"2027-\d\d-\d\d", item["deadline"]):
            raise BuildError(f"demand {number}: deadline {item['deadline']} not in 2027")
        record: dict[str, Any] = {
            "external_id": f"DEM-{number:03d}",
            "enterprise": enterprise.external_id,
            "title": item["title"],
            "description": item["description"],
            "industry": item["industry"],
            "region_code": item.get("region_code", enterprise.region_code),
            "budget_min": f"{low:.2f}",
            "budget_max": f"{high:.2f}",
            "deadline": item["deadline"],
            "confidentiality": item.get("confidentiality", "public"),
            "status": item.get("status", "open"),
        }
        demands.append(record)
    return list(enterprises.values()), demands


def build_handwritten_results(institutions: list[Org]) -> list[dict[str, Any]]:
    """The hand-written confidential results (RES-DEMO-nnn), owned by real institutions."""
    data = tomllib.loads((DEMO / "handwritten.toml").read_text(encoding="utf-8"))
    owners = {org.name: org.external_id for org in institutions}
    results: list[dict[str, Any]] = []
    for number, item in enumerate(data.get("result", []), start=1):
        if item["owner"] not in owners or not item["abstract"].startswith("示例成果"):
            raise BuildError(f"result {number}: unknown owner or not labelled 示例成果")
        contributors = []
        for entry in item["contributors"]:
            name, _, share = entry.rpartition(":")
            contributors.append({"name": name, "share": share})
        if sum(Decimal(c["share"]) for c in contributors) != 100:
            raise BuildError(f"result {number}: shares do not sum to 100")
        record: dict[str, Any] = {
            "external_id": f"RES-DEMO-{number:03d}",
            "kind": item["kind"],
            "title": item["title"],
            "abstract": item["abstract"],
            "keywords": item["keywords"],
            "trl": item["trl"],
            "owner": owners[item["owner"]],
            "contributors": contributors,
            "confidentiality": item["confidentiality"],
            "status": item["status"],
        }
        if item.get("ipc_codes"):
            record["ipc_codes"] = item["ipc_codes"]
        results.append(record)
    return results


def build_results() -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for paper in read_jsonl(HERE / "csl" / "csl_dev.jsonl"):
        results.append(
            {
                "external_id": paper["id"],
                "kind": "paper",
                "title": paper["title"].strip(),
                "abstract": paper["abstract"].strip(),
                "keywords": [k.strip() for k in paper["keywords"] if k.strip()],
                "discipline": paper["discipline"],
                "confidentiality": "public",
            }
        )
    for paper in read_jsonl(HERE / "csl" / "csl_titles.jsonl"):
        results.append(
            {
                "external_id": paper["id"],
                "kind": "paper",
                "title": paper["title"].strip(),
                "confidentiality": "public",
            }
        )
    return results


# ---------------------------------------------------------------- output
def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    lines = [json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) for r in records]
    ids = [json.loads(line)["external_id"] for line in lines]
    if len(ids) != len(set(ids)):
        raise BuildError(f"{path.name}: duplicate external_id")
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if path.stat().st_size >= MAX_FILE_BYTES:
        raise BuildError(f"{path.name} is larger than 20 MB")
    return len(lines)


def copy_raw(shared: Path) -> None:
    for source, target in RAW_FILES.items():
        destination = HERE / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / source, destination)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--skip-copy", action="store_true", help="use the raw copies as they are")
    args = parser.parse_args(argv)
    if not args.skip_copy:
        copy_raw(args.shared)
    build_reference.main()

    regions = {r["code"] for r in read_reference_csv("regions.csv")}
    sections = {r["code"] for r in read_reference_csv("reference_terms.csv")}
    finder = PlaceFinder.build()
    institutions, labs, people = build_organizations(finder)
    enterprises, demands = build_handwritten(regions, sections)
    organizations = [*institutions, *enterprises, *labs]
    for org in organizations:
        if org.region_code and org.region_code not in regions:
            raise BuildError(f"{org.name}: unknown region {org.region_code}")

    DEMO.mkdir(exist_ok=True)
    counts = {
        "organizations": write_jsonl(
            DEMO / "organizations.jsonl", (o.record() for o in organizations)
        ),
        "people": write_jsonl(DEMO / "people.jsonl", people),
        "results": write_jsonl(
            DEMO / "results.jsonl", [*build_results(), *build_handwritten_results(institutions)]
        ),
        "demands": write_jsonl(DEMO / "demands.jsonl", demands),
    }
    with_region = sum(1 for o in institutions if o.region_code)
    print(
        "demo: "
        + ", ".join(f"{count} {kind}" for kind, count in counts.items())
        + f" ({len(institutions)} institutions, {with_region} with a region; {len(labs)} labs; "
        f"{len(enterprises)} hand-written organisations)"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BuildError, build_reference.BuildError) as error:
        print(f"build: {error}", file=sys.stderr)
        sys.exit(1)

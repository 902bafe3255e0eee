"""Build the reference CSVs in ``src/shelfbridge/reference/`` (run with the project's venv).

Reads the raw administrative-division files copied into ``datasets/divisions/`` (see its
NOTICE) and the hand-transcribed facts of ``docs/domain-rules.md`` (§3, §7.2, §8) below, and
writes:

- ``regions.csv``: GB/T 2260 provinces, cities and counties;
- ``city_clusters.csv`` and ``city_cluster_members.csv``: the city clusters (城市群) of the
  14th Five-Year Plan, memberships resolved to GB/T 2260 codes;
- ``reference_terms.csv``: TRL level labels and GB/T 4754-2017 sections.

Every row carries its source and a confidence mark (C confirmed, S secondary, U unconfirmed).
A member name that cannot be resolved to exactly one division stops the build. Output is
deterministic, so re-running the script on the same input changes no byte.

    python datasets/build_reference.py
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIVISIONS = REPO / "datasets" / "divisions"
OUT = REPO / "src" / "shelfbridge" / "reference"

DIVISIONS_SOURCE = "modood/Administrative-divisions-of-China@57a0aa9 {file} (2023 统计用区划代码)"
SAR_SOURCE = (
    "GB/T 2260 province-level code; code also used by ECharts 4.9.0 map/json/china.json "
    "(not in the divisions data)"
)
FYP_SOURCE = (
    "14th Five-Year Plan outline (2021) 19 city clusters, https://sns.wuaishare.cn/3105.html"
)


class BuildError(Exception):
    pass


# ---------------------------------------------------------------- regions
@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    parent_code: str
    confidence: str
    source: str


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build_regions() -> list[RegionRow]:
    provinces = _read(DIVISIONS / "provinces.csv")
    cities = _read(DIVISIONS / "cities.csv")
    areas = _read(DIVISIONS / "areas.csv")
    rows: dict[str, RegionRow] = {}

    def add(row: RegionRow) -> None:
        if not re.fullmatch(r"\d{6}", row.code):
            raise BuildError(f"bad region code {row.code!r} ({row.name})")
        if row.code in rows:
            raise BuildError(f"duplicate region code {row.code} ({row.name})")
        rows[row.code] = row

    for p in provinces:
        if not re.fullmatch(r"\d{2}", p["code"]):
            raise BuildError(f"bad province code {p['code']!r}")
        source = DIVISIONS_SOURCE.format(file="provinces.csv")
        add(RegionRow(p["code"] + "0000", p["name"], "province", "", "S", source))
    for code, name in (
        ("710000", "台湾省"),
        ("810000", "香港特别行政区"),
        ("820000", "澳门特别行政区"),
    ):
        add(RegionRow(code, name, "province", "", "S", SAR_SOURCE))
    for c in cities:
        if not re.fullmatch(r"\d{4}", c["code"]) or c["code"][:2] != c["provinceCode"]:
            raise BuildError(f"bad city row {c}")
        parent = c["provinceCode"] + "0000"
        if parent not in rows:
            raise BuildError(f"city {c['code']} has unknown province {c['provinceCode']}")
        source = DIVISIONS_SOURCE.format(file="cities.csv")
        add(RegionRow(c["code"] + "00", c["name"], "city", parent, "S", source))
    for a in areas:
        parent = a["cityCode"] + "00"
        if parent not in rows or a["code"][:4] != a["cityCode"]:
            raise BuildError(f"county {a['code']} has unknown city {a['cityCode']}")
        if a["code"] == parent:
            # 东莞, 中山, 儋州: cities without counties, listed again as their own "county"
            # with the same code. The city row already stands for them.
            if rows[parent].name != a["name"]:
                raise BuildError(f"county {a['code']} repeats city code with another name")
            continue
        source = DIVISIONS_SOURCE.format(file="areas.csv")
        add(RegionRow(a["code"], a["name"], "county", parent, "S", source))
    order = {"province": 0, "city": 1, "county": 2}
    return sorted(rows.values(), key=lambda r: (order[r.level], r.code))


# ---------------------------------------------------------------- name resolution
# What may follow a short name in an official name: 石家庄 → 石家庄市, 临夏 → 临夏回族自治州,
# 积石山 → 积石山保安族东乡族撒拉族自治县, 海北 → 海北藏族自治州.
_SUFFIX = re.compile(r"(?:市|区|县|地区|盟|林区|(?:[\u4e00-\u9fff]{1,4}?族)*自治(?:州|县|旗))?")
_PROVINCE_SUFFIX = re.compile(r"(?:省|市|特别行政区|(?:壮族|回族|维吾尔)?自治区)$")


class Resolver:
    def __init__(self, regions: list[RegionRow]) -> None:
        self.regions = regions
        self.by_code = {r.code: r for r in regions}
        self.provinces: dict[str, str] = {}
        for r in regions:
            if r.level == "province":
                self.provinces[r.name] = r.code
                self.provinces[_PROVINCE_SUFFIX.sub("", r.name)] = r.code

    def province(self, name: str) -> str:
        try:
            return self.provinces[name]
        except KeyError:
            raise BuildError(f"unknown province {name!r}") from None

    def place(self, province: str, name: str) -> RegionRow:
        """The one city (else county) of ``province`` called ``name`` or ``name`` + suffix."""
        prefix = self.province(province)[:2]
        for level in ("city", "county"):
            found = [
                r
                for r in self.regions
                if r.level == level
                and r.code.startswith(prefix)
                and r.name.startswith(name)
                and _SUFFIX.fullmatch(r.name[len(name) :])
            ]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = ", ".join(f"{r.code} {r.name}" for r in found)
                raise BuildError(f"{province} {name!r} is ambiguous: {names}")
        raise BuildError(f"cannot resolve {province} {name!r} to a GB/T 2260 division")


# ---------------------------------------------------------------- city clusters (§8)
@dataclass(frozen=True)
class Member:
    province: str
    name: str  # "" for the whole province
    coverage: str = "whole"
    note: str = ""
    confidence: str = ""  # blank: the cluster's confidence


@dataclass(frozen=True)
class Cluster:
    key: str
    name_zh: str
    name_en: str
    tier: int
    plan_doc: str
    plan_year: int | None
    confidence: str
    source: str
    members: list[Member] = field(default_factory=list)


def whole(province: str, names: str, confidence: str = "", note: str = "") -> list[Member]:
    return [Member(province, n, note=note, confidence=confidence) for n in names.split()]


def part(province: str, name: str, note: str, confidence: str = "") -> Member:
    return Member(province, name, "partial", note, confidence)


def province_wide(*provinces: str) -> list[Member]:
    return [Member(p, "") for p in provinces]


JJJ_SRC = "http://tech.jiangsulong.com/a/2019/0722/1563748219_2.html"
YRD_SRC = "https://zhungen.com/baike/202304/177626.html"
YRD19_SRC = "https://scholarmate.com/S/e8tenc"
GBA_SRC = "https://jinshusy.com/news/show-4889.html"
CY_SRC = (
    "https://wenxiaoda.com/2024/0704/681519.html; "
    "http://www.ccyxbj.cn/hyshuju/b1370aea43dcc29041e0d213ed1e4207.html"
)
MY_SRC = (
    "https://www.baike.com/wikiid/7186927763277643787; "
    "http://www.dfux.com.cn/news/show.php?itemid=1511"
)
GZ_SRC = "http://www.whxn.com.cn/news/jingji/779129.html"
BBW_SRC = "https://stufic.com/news/view?id=6032; zhwiki mirror"
LX_SRC = (
    "http://chinawestern.org.cn/h-nd-1439.html; http://m.xibeitechan.com/Express/Hotspot/7742.html"
)
UNRETRIEVED = "domain-rules §8: membership not retrieved, from memory [U]"
CORE_ONLY = "domain-rules §8: core city only; full membership not retrieved [U]"

YRD_26 = [
    Member("上海", ""),
    *whole("江苏", "南京 无锡 常州 苏州 南通 盐城 扬州 镇江 泰州"),
    *whole("浙江", "杭州 宁波 嘉兴 湖州 绍兴 金华 舟山 台州"),
    *whole("安徽", "合肥 芜湖 马鞍山 铜陵 安庆 滁州 池州 宣城"),
]
PRD_9 = whole("广东", "广州 深圳 珠海 佛山 惠州 东莞 中山 江门 肇庆")
# 渝中 … 忠县 per the source; the 25 names between them are from memory of the 2016 plan.
CY_CHONGQING = "渝中 万州 黔江 涪陵 大渡口 江北 沙坪坝 九龙坡 南岸 北碚 綦江 大足 渝北 巴南 长寿 江津 合川 永川 南川 潼南 铜梁 荣昌 璧山 梁平 丰都 垫江 忠县"  # noqa: E501

CY_NOTE = "source gives 27 districts/counties 渝中 … 忠县; the names between are from memory"

CLUSTERS: list[Cluster] = [
    Cluster(
        "jingjinji",
        "京津冀城市群",
        "Beijing–Tianjin–Hebei city cluster",
        1,
        "“十四五”规划纲要 城市群名单",
        2021,
        "S",
        f"{FYP_SOURCE}; members: {JJJ_SRC}",
        [
            *province_wide("北京", "天津"),
            *whole("河北", "石家庄 唐山 秦皇岛 邯郸 邢台 保定 张家口 承德 沧州 廊坊 衡水"),
        ],
    ),
    Cluster(
        "yangtze_river_delta",
        "长三角城市群",
        "Yangtze River Delta city cluster (26 cities)",
        1,
        "长江三角洲城市群发展规划",
        2016,
        "S",
        f"{FYP_SOURCE}; members: {YRD_SRC}",
        YRD_26,
    ),
    Cluster(
        "yangtze_river_delta_2019_central",
        "长三角一体化中心区",
        "Yangtze River Delta integration central zone (27 cities)",
        1,
        "长江三角洲区域一体化发展规划纲要",
        2019,
        "S",
        f"members: {YRD19_SRC}",
        [*YRD_26, *whole("浙江", "温州")],
    ),
    Cluster(
        "yangtze_river_delta_2019",
        "长三角地区（一体化规划范围）",
        "Yangtze River Delta region (integration plan, whole provinces)",
        1,
        "长江三角洲区域一体化发展规划纲要",
        2019,
        "S",
        f"members: {YRD19_SRC}",
        province_wide("上海", "江苏", "浙江", "安徽"),
    ),
    Cluster(
        "pearl_river_delta",
        "珠三角城市群",
        "Pearl River Delta city cluster",
        1,
        "“十四五”规划纲要 城市群名单",
        2021,
        "S",
        f"{FYP_SOURCE}; members: {GBA_SRC}",
        PRD_9,
    ),
    Cluster(
        "greater_bay_area",
        "粤港澳大湾区",
        "Guangdong–Hong Kong–Macao Greater Bay Area",
        1,
        "粤港澳大湾区发展规划纲要",
        2019,
        "S",
        f"members: {GBA_SRC}",
        [*province_wide("香港", "澳门"), *PRD_9],
    ),
    Cluster(
        "chengdu_chongqing",
        "成渝城市群",
        "Chengdu–Chongqing city cluster",
        1,
        "成渝城市群发展规划",
        2016,
        "S",
        f"{FYP_SOURCE}; members: {CY_SRC}",
        [
            *whole("重庆", CY_CHONGQING, confidence="U", note=CY_NOTE),
            part("重庆", "开州", "parts only"),
            part("重庆", "云阳", "parts only"),
            *whole("四川", "成都 自贡 泸州 德阳 遂宁 内江 乐山 南充 眉山 宜宾 广安 资阳"),
            part("四川", "绵阳", "excl. 北川, 平武"),
            part("四川", "达州", "excl. 万源"),
            part("四川", "雅安", "excl. 天全, 宝兴"),
        ],
    ),
    Cluster(
        "middle_yangtze",
        "长江中游城市群",
        "Middle Yangtze River city cluster",
        1,
        "长江中游城市群发展规划（发改地区〔2015〕738号）",
        2015,
        "S",
        f"{FYP_SOURCE}; members: {MY_SRC}",
        [
            *whole("湖北", "武汉 黄石 鄂州 黄冈 孝感 咸宁 仙桃 潜江 天门 襄阳 宜昌 荆州 荆门"),
            *whole("湖南", "长沙 株洲 湘潭 岳阳 益阳 常德 衡阳 娄底"),
            *whole("江西", "南昌 九江 景德镇 鹰潭 新余 宜春 萍乡 上饶"),
            part("江西", "抚州", "parts; whole or partial is disputed", confidence="U"),
            part("江西", "吉安", "parts"),
        ],
    ),
    Cluster(
        "shandong_peninsula",
        "山东半岛城市群",
        "Shandong Peninsula city cluster",
        2,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {UNRETRIEVED}",
        [],  # filled below with every prefecture-level city of Shandong
    ),
    Cluster(
        "guangdong_fujian_zhejiang_coast",
        "粤闽浙沿海城市群",
        "Guangdong–Fujian–Zhejiang coastal city cluster",
        2,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {UNRETRIEVED}; only the cities named there",
        [
            *whole("福建", "福州 厦门 泉州 漳州 莆田 宁德"),
            *whole("广东", "汕头 潮州 揭阳 汕尾"),
            *whole("浙江", "温州"),
        ],
    ),
    Cluster(
        "central_plains",
        "中原城市群",
        "Central Plains city cluster",
        2,
        "中原城市群发展规划",
        2016,
        "S",
        f"{FYP_SOURCE}; members: {JJJ_SRC}",
        [
            *whole(
                "河南",
                "郑州 开封 洛阳 南阳 安阳 商丘 新乡 平顶山 许昌 焦作 周口 信阳 驻马店 鹤壁 "
                "濮阳 漯河 三门峡 济源",
            ),
            *whole("山西", "长治 晋城 运城"),
            *whole("山东", "聊城 菏泽"),
            *whole("安徽", "宿州 淮北 阜阳 亳州 蚌埠"),
            *whole("河北", "邢台 邯郸"),
        ],
    ),
    Cluster(
        "guanzhong_plain",
        "关中平原城市群",
        "Guanzhong Plain city cluster",
        2,
        "关中平原城市群发展规划（发改规划〔2018〕220号）",
        2018,
        "S",
        f"{FYP_SOURCE}; members: {GZ_SRC}",
        [
            *whole("陕西", "西安 宝鸡 咸阳 铜川 渭南"),
            Member("陕西", "杨陵", note="杨凌示范区 = 杨陵区, inside 咸阳"),
            part("陕西", "商洛", "商州, 洛南, 丹凤, 柞水"),
            part("山西", "运城", "excl. 平陆, 垣曲"),
            part("山西", "临汾", "尧都, 侯马, 襄汾, 霍州, 曲沃, 翼城, 洪洞, 浮山"),
            *whole("甘肃", "天水"),
            part("甘肃", "平凉", "崆峒, 华亭, 泾川, 崇信, 灵台"),
            part("甘肃", "庆阳", "urban area"),
        ],
    ),
    Cluster(
        "beibu_gulf",
        "北部湾城市群",
        "Beibu Gulf city cluster",
        2,
        "北部湾城市群发展规划",
        2017,
        "S",
        f"{FYP_SOURCE}; members: {BBW_SRC}",
        [
            *whole("广西", "南宁 北海 钦州 防城港 玉林 崇左"),
            *whole("广东", "湛江 茂名 阳江"),
            *whole("海南", "海口 儋州 东方 澄迈 临高 昌江"),
        ],
    ),
    Cluster(
        "harbin_changchun",
        "哈长城市群",
        "Harbin–Changchun city cluster",
        3,
        "哈长城市群发展规划",
        2016,
        "U",
        f"{FYP_SOURCE}; {UNRETRIEVED}",
        [
            *whole("黑龙江", "哈尔滨 大庆 齐齐哈尔 绥化 牡丹江"),
            *whole("吉林", "长春 吉林 四平 辽源 松原 延边"),
        ],
    ),
    Cluster(
        "central_southern_liaoning",
        "辽中南城市群",
        "Central and Southern Liaoning city cluster",
        3,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {UNRETRIEVED} (approx.)",
        whole("辽宁", "沈阳 大连 鞍山 抚顺 本溪 丹东 营口 辽阳 盘锦 铁岭"),
    ),
    Cluster(
        "central_shanxi",
        "山西中部城市群",
        "Central Shanxi city cluster",
        3,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {UNRETRIEVED}",
        whole("山西", "太原 晋中 忻州 吕梁 阳泉"),
    ),
    Cluster(
        "central_guizhou",
        "黔中城市群",
        "Central Guizhou city cluster",
        3,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {CORE_ONLY}",
        whole("贵州", "贵阳"),
    ),
    Cluster(
        "central_yunnan",
        "滇中城市群",
        "Central Yunnan city cluster",
        3,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {CORE_ONLY}",
        whole("云南", "昆明"),
    ),
    Cluster(
        "hohhot_baotou_ordos_yulin",
        "呼包鄂榆城市群",
        "Hohhot–Baotou–Ordos–Yulin city cluster",
        3,
        "呼包鄂榆城市群发展规划",
        2018,
        "U",
        f"{FYP_SOURCE}; {UNRETRIEVED}",
        [*whole("内蒙古", "呼和浩特 包头 鄂尔多斯"), *whole("陕西", "榆林")],
    ),
    Cluster(
        "lanzhou_xining",
        "兰州—西宁城市群",
        "Lanzhou–Xining city cluster",
        3,
        "兰州—西宁城市群发展规划（发改规划〔2018〕423号）",
        2018,
        "S",
        f"{FYP_SOURCE}; members: {LX_SRC}",
        [
            *whole("甘肃", "兰州"),
            part("甘肃", "白银", "白银区, 平川, 靖远, 景泰"),
            part("甘肃", "定西", "安定, 陇西, 渭源, 临洮"),
            part("甘肃", "临夏", "临夏市, 东乡, 永靖, 积石山"),
            *whole("青海", "西宁 海东"),
            part("青海", "海北", "海晏"),
            part("青海", "海南", "共和, 贵德, 贵南"),
            part("青海", "黄南", "同仁, 尖扎"),
        ],
    ),
    Cluster(
        "ningxia_yellow_river",
        "宁夏沿黄城市群",
        "Ningxia Yellow River city cluster",
        3,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {CORE_ONLY}",
        whole("宁夏", "银川"),
    ),
    Cluster(
        "tianshan_north_slope",
        "天山北坡城市群",
        "Northern Slope of Tianshan city cluster",
        3,
        "“十四五”规划纲要 城市群名单",
        2021,
        "U",
        f"{FYP_SOURCE}; {CORE_ONLY}",
        whole("新疆", "乌鲁木齐"),
    ),
]


def shandong_cities(regions: list[RegionRow]) -> list[Member]:
    cities = [r for r in regions if r.level == "city" and r.parent_code == "370000"]
    return [Member("山东", _SUFFIX_CITY.sub("", r.name)) for r in cities]


_SUFFIX_CITY = re.compile(r"市$")


def build_clusters(
    regions: list[RegionRow],
) -> tuple[list[list[object]], list[list[object]]]:
    resolver = Resolver(regions)
    cluster_rows: list[list[object]] = []
    member_rows: list[list[object]] = []
    seen_keys: set[str] = set()
    for cluster in CLUSTERS:
        if cluster.key in seen_keys:
            raise BuildError(f"duplicate cluster key {cluster.key}")
        seen_keys.add(cluster.key)
        members = cluster.members
        if cluster.key == "shandong_peninsula":
            members = shandong_cities(regions)
            if len(members) != 16:
                raise BuildError(f"Shandong has {len(members)} cities, expected 16")
        if not members:
            raise BuildError(f"cluster {cluster.key} has no members")
        cluster_rows.append(
            [
                cluster.key,
                cluster.name_zh,
                cluster.name_en,
                cluster.tier,
                cluster.plan_doc,
                "" if cluster.plan_year is None else cluster.plan_year,
                cluster.confidence,
                cluster.source,
            ]
        )
        codes: set[str] = set()
        for member in members:
            if member.name:
                region = resolver.place(member.province, member.name)
                code, label = region.code, region.name
            else:
                code = resolver.province(member.province)
                label = resolver.by_code[code].name
            if code in codes:
                raise BuildError(f"{cluster.key}: {label} listed twice")
            codes.add(code)
            source = re.split(r"(?:^|; )members: ", cluster.source)[-1]
            note = f"{label}" + (f" ({member.note})" if member.note else "")
            member_rows.append(
                [
                    cluster.key,
                    code,
                    member.coverage,
                    member.confidence or cluster.confidence,
                    f"{note}; {source}",
                ]
            )
    return cluster_rows, member_rows


# ---------------------------------------------------------------- reference terms
TRL_SOURCE = (
    "label_zh: commonly quoted GB/T 22900 levels, not checked against the standard "
    "(domain-rules §3.1 [U]); label_en: EU Horizon 2020 General Annex G, C(2014)4995 (§3.3 [S])"
)
TRL = [
    ("1", "发现基本原理或看到基本原理的报道", "Basic principles observed"),
    ("2", "形成技术概念或开发方案", "Technology concept formulated"),
    ("3", "关键功能分析和实验结论成立 / 验证技术方案", "Experimental proof of concept"),
    ("4", "研究室（实验室）环境中关键功能仿真结论成立", "Technology validated in lab"),
    ("5", "相关环境中关键功能仿真结论成立", "Technology validated in relevant environment"),
    ("6", "相关环境中演示验证", "Technology demonstrated in relevant environment"),
    (
        "7",
        "典型（模拟使用）环境中演示验证",
        "System prototype demonstration in operational environment",
    ),
    ("8", "实际（使用）环境中完成试验验证", "System complete and qualified"),
    (
        "9",
        "实际（使用）环境中运行成功 / 实际应用",
        "Actual system proven in operational environment",
    ),
]
GBT4754_SOURCE = (
    "GB/T 4754-2017 门类 names via https://crsrw.com/qiyezixun/48983.html "
    "(domain-rules §7.2 [S]); label_en: project translation"
)
GBT4754 = [
    ("A", "农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    ("B", "采矿业", "Mining"),
    ("C", "制造业", "Manufacturing"),
    (
        "D",
        "电力、热力、燃气及水生产和供应业",
        "Electricity, heat, gas and water production and supply",
    ),
    ("E", "建筑业", "Construction"),
    ("F", "批发和零售业", "Wholesale and retail trade"),
    ("G", "交通运输、仓储和邮政业", "Transport, storage and postal services"),
    ("H", "住宿和餐饮业", "Accommodation and catering"),
    ("I", "信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    ("J", "金融业", "Finance"),
    ("K", "房地产业", "Real estate"),
    ("L", "租赁和商务服务业", "Leasing and business services"),
    ("M", "科学研究和技术服务业", "Scientific research and technical services"),
    (
        "N",
        "水利、环境和公共设施管理业",
        "Water conservancy, environment and public facilities management",
    ),
    ("O", "居民服务、修理和其他服务业", "Household services, repair and other services"),
    ("P", "教育", "Education"),
    ("Q", "卫生和社会工作", "Health and social work"),
    ("R", "文化、体育和娱乐业", "Culture, sports and entertainment"),
    (
        "S",
        "公共管理、社会保障和社会组织",
        "Public administration, social security and social organisations",
    ),
    ("T", "国际组织", "International organisations"),
]


def build_terms() -> list[list[object]]:
    rows: list[list[object]] = []
    rows += [["trl", code, zh, en, "U", TRL_SOURCE] for code, zh, en in TRL]
    rows += [["gbt4754_section", code, zh, en, "S", GBT4754_SOURCE] for code, zh, en in GBT4754]
    return rows


# ---------------------------------------------------------------- output
def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> int:
    regions = build_regions()
    clusters, members = build_clusters(regions)
    terms = build_terms()
    OUT.mkdir(parents=True, exist_ok=True)
    write_csv(
        OUT / "regions.csv",
        ["code", "name", "level", "parent_code", "confidence", "source"],
        [[r.code, r.name, r.level, r.parent_code, r.confidence, r.source] for r in regions],
    )
    write_csv(
        OUT / "city_clusters.csv",
        ["key", "name_zh", "name_en", "tier", "plan_doc", "plan_year", "confidence", "source"],
        clusters,
    )
    write_csv(
        OUT / "city_cluster_members.csv",
        ["cluster_key", "region_code", "coverage", "confidence", "source"],
        members,
    )
    write_csv(
        OUT / "reference_terms.csv",
        ["vocabulary", "code", "label_zh", "label_en", "confidence", "source"],
        terms,
    )
    print(
        f"reference: {len(regions)} regions, {len(clusters)} clusters, "
        f"{len(members)} cluster members, {len(terms)} terms"
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as error:
        print(f"build_reference: {error}", file=sys.stderr)
        sys.exit(1)

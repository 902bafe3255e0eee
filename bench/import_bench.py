"""Import benchmark: 100,000 results from one CSV file, against the physical floor.

    python bench/import_bench.py [--rows 100000] [--db postgresql+psycopg://…/name]

Each case runs in its own process on a fresh database (SQLite files in a temporary folder,
and on PostgreSQL too when ``--db`` is given); the peak resident memory of that process is
read from ``os.wait4``. The floor is a plain DB-API ``executemany`` of the same rows into the
same ``results`` table (same columns), without validation, contributors or audit.
Titles and abstracts come from ``datasets/csl/csl_dev.jsonl`` when the repository has it,
else from generated text. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CSL = ROOT / "datasets" / "csl" / "csl_dev.jsonl"
TARGET_SECONDS = 20.0
TARGET_MB = 500.0
ORGANIZATIONS = 50
PEOPLE = 2000
KINDS = ["paper", "invention_patent", "utility_model", "software_copyright", "prototype"]
IPC = ["G06F 16/35", "H01M 10/0525", "A61K 31/495", "C12N 15/82", "B01J 23/42", "G06N"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
WORDS = (
    "基于",
    "深度学习",
    "的",
    "锂电池",
    "正极材料",
    "制备方法",
    "高效",
    "催化剂",
    "分布式",
    "控制系统",
    "图像识别",
    "传感器",
    "网络",
    "优化",
    "算法",
    "纳米",
    "复合材料",
    "新型",
    "检测",
    "装置",
    "研究",
    "农作物",
    "抗病",
    "基因",
    "低温",
    "性能",
    "提升",
    "智能",
    "制造",
    "工艺",
    "结构",
    "设计",
    "仿真",
    "分析",
    "模型",
    "数据",
    "平台",
    "应用",
)


# ---------------------------------------------------------------------- data
def _texts(rng: random.Random) -> list[tuple[str, str, list[str], str]]:
    if CSL.is_file():
        out = []
        with CSL.open(encoding="utf-8") as handle:
            for line in handle:
                item = json.loads(line)
                keywords = [k for k in item.get("keywords", []) if len(k) <= 100][:8]
                out.append(
                    (item["title"][:500], item["abstract"], keywords, item["discipline"][:100])
                )
        return out

    def sentence(n: int) -> str:
        return "".join(rng.choice(WORDS) for _ in range(n))

    return [
        (
            sentence(8),
            "。".join(sentence(12) for _ in range(8)) + "。",
            rng.sample(WORDS, 4),
            "工学",
        )
        for _ in range(1000)
    ]


def _contributors(rng: random.Random) -> str:
    count = rng.randint(1, 3)
    shares = {1: ["100"], 2: ["60", "40"], 3: ["50", "30.5", "19.5"]}[count]
    parts = []
    for share in shares:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        person = f"@BP-{rng.randrange(PEOPLE)}" if rng.random() < 0.5 else ""
        parts.append(f"{name}{person}:{share}")
    return ";".join(parts)


def write_files(folder: Path, rows: int) -> Path:
    rng = random.Random(20240601)
    with (folder / "organizations.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["external_id", "name", "kind", "region_code"])
        for i in range(ORGANIZATIONS):
            out.writerow([f"BO-{i}", f"基准大学{i}", "university", "110000"])
    with (folder / "people.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["external_id", "name", "organization"])
        for i in range(PEOPLE):
            out.writerow([f"BP-{i}", f"研究员{i}", f"BO-{i % ORGANIZATIONS}"])
    texts = _texts(rng)
    path = folder / "results.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["external_id", "kind", "title", "abstract", "keywords", "discipline", "ipc_codes"]
            + ["trl", "owner", "contributors", "confidentiality", "status"]
        )
        for i in range(rows):
            title, abstract, keywords, discipline = texts[i % len(texts)]
            out.writerow(
                [
                    f"BR-{i:06d}",
                    rng.choice(KINDS),
                    f"{title}（{i}）",
                    abstract,
                    ";".join(keywords),
                    discipline,
                    ";".join(rng.sample(IPC, rng.randint(0, 2))),
                    rng.randint(1, 9),
                    f"BO-{rng.randrange(ORGANIZATIONS)}" if rng.random() < 0.8 else "",
                    _contributors(rng),
                    "public",
                    "available",
                ]
            )
    return path


# ---------------------------------------------------------------------- databases
def _postgres_database(base: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def prepare(url: str, folder: Path) -> None:
    """Schema, reference data, and the organisations and people the results refer to."""
    from shelfbridge.core.database import Database
    from shelfbridge.core.migrate import upgrade
    from shelfbridge.registry.importing import import_file
    from shelfbridge.registry.reference import load_reference_data

    upgrade(url)
    database = Database(url)
    with database.unit_of_work() as session:
        load_reference_data(session)
    import_file(database, "organizations", folder / "organizations.csv")
    import_file(database, "people", folder / "people.csv")
    database.dispose()


# ---------------------------------------------------------------------- cases (child processes)
def case_import(url: str, path: Path) -> dict[str, Any]:
    from shelfbridge.core.database import Database
    from shelfbridge.registry.importing import import_file

    database = Database(url)
    phases: dict[str, float] = {}

    def progress(phase: str, _done: int, _total: int | None) -> None:
        phases.setdefault(phase, time.perf_counter())

    started = time.perf_counter()
    report = import_file(database, "results", path, progress=progress)
    seconds = time.perf_counter() - started
    database.dispose()
    check = phases.get("write", started + seconds) - started
    return {
        "rows": report.rows,
        "seconds": seconds,
        "created": report.created,
        "check": check,
        "write": seconds - check,
    }


FLOOR_COLUMNS = [
    "external_id", "kind", "title", "abstract", "keywords", "discipline", "ipc_codes", "trl",
    "owner_org_id", "confidentiality", "status", "created_at", "updated_at",
]  # fmt: skip


def _floor_rows(path: Path, owners: dict[str, int]) -> list[tuple[Any, ...]]:
    now = time.strftime("%Y-%m-%d %H:%M:%S.000000")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                (
                    row["external_id"],
                    row["kind"],
                    row["title"],
                    row["abstract"],
                    json.dumps(row["keywords"].split(";"), ensure_ascii=False),
                    row["discipline"],
                    json.dumps(row["ipc_codes"].split(";") if row["ipc_codes"] else []),
                    int(row["trl"]),
                    owners.get(row["owner"]),
                    row["confidentiality"],
                    row["status"],
                    now,
                    now,
                )
            )
    return rows


def case_floor(url: str, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    if url.startswith("sqlite"):
        import sqlite3

        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        placeholder = "?"
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        conn = psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
        )
        placeholder = "%s"
    cursor = conn.cursor()
    cursor.execute("SELECT external_id, id FROM organizations")
    owners = dict(cursor.fetchall())
    rows = _floor_rows(path, owners)
    statement = (
        f"INSERT INTO results ({', '.join(FLOOR_COLUMNS)}) "
        f"VALUES ({', '.join([placeholder] * len(FLOOR_COLUMNS))})"
    )
    cursor.executemany(statement, rows)
    conn.commit()
    conn.close()
    return {"rows": len(rows), "seconds": time.perf_counter() - started}


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (Linux)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) if "VmRSS:" in status else 0
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        pending.extend(int(child) for child in children)
    return total


def run_case(case: str, url: str, path: Path) -> dict[str, Any]:
    """Run one case in a child process. Peak memory: the kernel's figure for the largest
    process (wait4), and the sum over the process tree (the checkers included) sampled
    every 20 ms where /proc allows; CPU seconds include the checkers'."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--case", case, "--url", url, "--file", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak_tree = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not stop.wait(0.02):
            peak_tree = max(peak_tree, _tree_rss_kib(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert child.stdout is not None
    output = child.stdout.read()
    stop.set()
    sampler.join()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"case {case} failed with exit code {child.returncode}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["peak_mb"] = max(usage.ru_maxrss, peak_tree) / 1024  # kilobytes on Linux
    result["cpu"] = usage.ru_utime + usage.ru_stime
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", help="also run on this PostgreSQL server (a database URL)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        action = case_import if args.case == "import" else case_floor
        print(json.dumps(action(args.url, Path(args.file))))
        return

    folder = Path(tempfile.mkdtemp(prefix="shelfbridge-bench-"))
    try:
        started = time.perf_counter()
        path = write_files(folder, args.rows)
        source = "datasets/csl/csl_dev.jsonl" if CSL.is_file() else "generated text"
        size = path.stat().st_size / 1e6
        print(
            f"{args.rows:,} result rows, {size:.1f} MB CSV ({source}), "
            f"written in {time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs"
        )
        backends = [("sqlite", None)] + ([("postgresql", args.db)] if args.db else [])
        table = []
        phases: list[tuple[str, float, float]] = []
        for backend, base in backends:
            results = {}
            for case in ("floor", "import"):
                if base is None:
                    url = f"sqlite:///{folder / f'{case}.db'}"
                else:
                    url = _postgres_database(base, f"sb_bench_{case}")
                prepare(url, folder)
                try:
                    results[case] = run_case(case, url, path)
                finally:
                    if base is not None:
                        _drop_postgres(url)
            floor = results["floor"]["seconds"]
            phases.append((backend, results["import"]["check"], results["import"]["write"]))
            for case in ("import", "floor"):
                r = results[case]
                name = "shelfbridge import_file" if case == "import" else "floor (executemany)"
                table.append(
                    (
                        f"{backend}: {name}",
                        r["rows"],
                        r["seconds"],
                        r["rows"] / r["seconds"],
                        r["peak_mb"],
                        r["seconds"] / floor,
                        r["cpu"],
                    )
                )
        print()
        print(
            f"| {'case':38} | {'rows':>8} | {'seconds':>7} | {'rows/s':>8} | peak MB | ratio "
            "| CPU s |"
        )
        print(f"|{'-' * 40}|{'-' * 10}|{'-' * 9}|{'-' * 10}|{'-' * 9}|{'-' * 7}|{'-' * 7}|")
        for name, rows, seconds, rate, peak, ratio, cpu in table:
            print(
                f"| {name:38} | {rows:>8,} | {seconds:>7.2f} | {rate:>8,.0f} | {peak:>7.0f} "
                f"| {ratio:>5.1f} | {cpu:>5.1f} |"
            )
        for backend, check, write in phases:
            print(f"\n{backend} import: check (pass 1) {check:.2f} s, write (pass 2) {write:.2f} s")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\nload average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")
        imported = table[0]
        if args.rows != 100_000:
            print(f"\n(the targets apply to 100,000 rows; this run had {args.rows:,})")
        else:
            ok = imported[2] < TARGET_SECONDS and imported[4] < TARGET_MB
            print(
                f"\ntargets (SQLite import): < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB "
                f"peak: {'met' if ok else 'NOT met'}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

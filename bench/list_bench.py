"""Benchmark: the results list endpoint under 8 concurrent clients with 100,000 results.

Targets (issues 2 and 3): at least 300 requests/s and p99 under 100 ms on SQLite, on this
2-core machine, for anonymous callers; signed-in callers (a member of an organisation, a
platform admin) within 15% of that throughput. The baseline, measured in the same run on the
same server stack, is the framework floor: a route that returns a fixed JSON body of the same
size without touching the database.

Each worker is a server process of its own on its own port, and the clients are dealt to them
in turn, as a balancer in front of them would: with uvicorn's ``--workers`` the workers share
one listening socket and asyncio accepts connections in bursts, so 8 keep-alive connections
often landed 7 to 1 (or 8 to 0) on two workers, and the figures of a case moved by a third
from one run to the next with the split.

The cases take turns: each runs ``--rounds`` times for ``--seconds / --rounds`` seconds, so
that load from other programs on the machine falls on all of them alike, and the figures are
those of all rounds together.

    python bench/list_bench.py [--rows 100000] [--seconds 15] [--rounds 3] [--db postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import LoadResult, random_offsets, run_load  # noqa: E402
from shelfbridge.accounts import service as accounts  # noqa: E402
from shelfbridge.accounts.actor import SYSTEM, current_actor  # noqa: E402
from shelfbridge.accounts.tokens import issue as issue_token  # noqa: E402
from shelfbridge.core.database import Database  # noqa: E402
from shelfbridge.core.migrate import upgrade  # noqa: E402
from shelfbridge.registry import service  # noqa: E402
from shelfbridge.registry.models import Result  # noqa: E402
from shelfbridge.registry.reference import load_reference_data  # noqa: E402

FLOOR_APP = """
import json
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
BODY = json.dumps(json.load(open({path!r}))).encode()
async def page(request):
    return Response(BODY, media_type="application/json")
app = Starlette(routes=[Route("/floor", page)])
"""


def free_ports(count: int) -> list[int]:
    """``count`` different free ports (each socket stays bound until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def seed(url: str, rows: int) -> dict[str, str]:
    """100k results (a few owned by the member's organisation, some of them internal) and
    two users with API tokens; returns the tokens by name."""
    upgrade(url)
    database = Database(url)
    current_actor.set(SYSTEM)
    with database.unit_of_work() as session:
        load_reference_data(session)
        university = service.create(
            session,
            "organizations",
            {"external_id": "BENCH-UNI", "name": "基准大学", "kind": "university"},
        )
        university_id = university.id
        tokens = {}
        for name, admin, role in (("member", False, "tto_officer"), ("admin", True, None)):
            user = accounts.create_user(
                session, f"bench-{name}", "bench-password-1234", is_platform_admin=admin
            )
            if role:
                accounts.grant(session, user, university, role)
            tokens[name], _row = issue_token(session, user.id, "bench", datetime.now(UTC))
    now = datetime.now(UTC)
    kinds = ["paper", "invention_patent", "utility_model", "software_copyright"]
    batch = []
    with database.writer.begin() as conn:
        for n in range(rows):
            batch.append(
                {
                    "external_id": f"BENCH-{n:07d}",
                    "kind": kinds[n % 4],
                    "title": f"基于深度学习的复杂工况故障诊断方法研究 第{n}号",
                    "abstract": "提出一种融合多源传感信息的诊断模型，在公开数据集上验证。" * 3,
                    "keywords": ["故障诊断", "深度学习", f"k{n % 97}"],
                    "discipline": "控制科学与工程",
                    "ipc_codes": ["G06N 3/08"],
                    "trl": 1 + n % 9,
                    # one in fifty belongs to the member's university, half of those internal
                    "owner_org_id": university_id if n % 50 == 0 else None,
                    "confidentiality": "internal" if n % 100 == 0 else "public",
                    "status": "available",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(Result), batch)
                batch = []
        if batch:
            conn.execute(insert(Result), batch)
    if database.writer.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load on a standard server (this
        # machine's PostgreSQL runs without it): without statistics the planner takes 100,000
        # results for a few dozen and walks a member's list by bitmap (40 ms a page, not 0.1).
        with database.writer.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    database.dispose()
    return tokens


def wait_ready(port: int, path: str) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *args, "--log-level", "warning", "--no-access-log"],
        env=env,
    )


def cpu_seconds(root: int) -> float:
    """CPU time used so far by a process and everything below it (Linux; 0 elsewhere): the
    server's own cost per request, which other programs on the machine barely disturb."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0.0
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def database_cpu_seconds(url: str) -> float:
    """CPU time used so far by the PostgreSQL backends serving the database of ``url``
    (Linux; 0 elsewhere and for SQLite, whose work is the server's own): the other half of a
    request's cost on this machine. Backends that ended since are not counted, so the
    servers' pooled connections are what it sees."""
    proc = Path("/proc")
    if not url.startswith("postgresql") or not proc.is_dir():
        return 0.0
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if not command.startswith("postgres: ") or f" {name} " not in command:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def combine(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        sum(r.seconds for r in results),
        [ms for r in results for ms in r.latencies_ms],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="per case, all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sb-list-bench-"))
    url = options.db or f"sqlite:///{workdir / 'bench.db'}"
    print(f"seeding {options.rows:,} results into {url.split('@')[-1]} …", flush=True)
    tokens = seed(url, options.rows)

    env = {**os.environ, "SHELFBRIDGE_DATABASE_URL": url, "OMP_NUM_THREADS": "1"}
    ports = free_ports(2 * options.workers)
    app_ports, floor_ports = ports[: options.workers], ports[options.workers :]
    servers = {
        port: serve(["shelfbridge.web.app:app_factory", "--factory", "--port", str(port)], env)
        for port in app_ports
    }
    try:
        for port in app_ports:
            wait_ready(port, "/api/v1/results?limit=1")
        with urllib.request.urlopen(
            f"http://127.0.0.1:{app_ports[0]}/api/v1/results?limit=20"
        ) as r:
            sample = r.read()
        (workdir / "sample.json").write_bytes(sample)
        floor_module = workdir / "floor_app.py"
        floor_module.write_text(FLOOR_APP.format(path=str(workdir / "sample.json")))
        for port in floor_ports:
            servers[port] = serve(
                ["floor_app:app", "--app-dir", str(workdir), "--port", str(port)], env
            )
            wait_ready(port, "/floor")

        paths = random_offsets("/api/v1/results", options.rows)
        filtered = random_offsets("/api/v1/results", options.rows // 9)
        cases: list[tuple[str, list[int], Callable[[], str], dict[str, str] | None]] = [
            ("GET /api/v1/results (limit 20)", app_ports, paths, None),
            (
                "… with kind + TRL filters",
                app_ports,
                lambda: filtered() + "&kind=paper&trl_min=3&trl_max=6",
                None,
            ),
            *(
                (
                    f"… signed in ({'org member' if name == 'member' else 'platform admin'})",
                    app_ports,
                    paths,
                    {"Authorization": f"Bearer {tokens[name]}"},
                )
                for name in ("member", "admin")
            ),
            ("baseline: fixed JSON, no database", floor_ports, lambda: "/floor", None),
        ]
        measured: dict[str, list[LoadResult]] = {name: [] for name, *_ in cases}
        cpu: dict[str, float] = dict.fromkeys(measured, 0.0)
        database_cpu: dict[str, float] = dict.fromkeys(measured, 0.0)
        for round_ in range(options.rounds):
            for name, case_ports, case_paths, headers in cases:
                pids = [servers[port].pid for port in case_ports]

                def go(seconds: float) -> LoadResult:
                    return run_load(
                        "127.0.0.1",
                        case_ports,  # noqa: B023 - used at once, inside the loop
                        case_paths,  # noqa: B023
                        clients=options.clients,
                        seconds=seconds,
                        warmup=0.0,
                        headers=headers,  # noqa: B023
                    )

                go(2.0 if round_ == 0 else 0.5)  # warm-up, not counted
                before = sum(cpu_seconds(pid) for pid in pids)
                database_before = database_cpu_seconds(url)
                result = go(options.seconds / options.rounds)
                cpu[name] += sum(cpu_seconds(pid) for pid in pids) - before
                database_cpu[name] += database_cpu_seconds(url) - database_before
                measured[name].append(result)
    finally:
        for server in servers.values():
            server.terminate()
            server.wait()

    results = {name: combine(runs) for name, runs in measured.items()}
    floor_result = results["baseline: fixed JSON, no database"]
    print(
        f"\nlist endpoint, {options.rows:,} results, {options.clients} clients, "
        f"{options.workers} server processes, {options.seconds:.0f} s each in "
        f"{options.rounds} rounds, {os.cpu_count()} cores"
    )
    header = (
        f"{'case':<38}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'vs floor':>10}{'server CPU ms/req':>19}{'DB CPU ms/req':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, res in results.items():
        print(
            f"{name:<38}{res.rate:>9.0f}{res.percentile(0.5):>9.1f}"
            f"{res.percentile(0.95):>9.1f}{res.percentile(0.99):>9.1f}{res.errors:>8}"
            f"{res.rate / floor_result.rate:>10.2f}{cpu[name] * 1000 / max(res.requests, 1):>19.2f}"
            f"{database_cpu[name] * 1000 / max(res.requests, 1):>15.2f}"
        )
    rows = list(results.items())
    anonymous = rows[0][1].rate
    for name, res in rows[2:4]:
        print(f"{name}: {res.rate / anonymous - 1:+.1%} throughput vs anonymous")
    print("\ntargets: ≥ 300 req/s and p99 < 100 ms for the plain list; signed in within 15%")
    print(
        json.dumps(
            {
                "rows": options.rows,
                "rate": round(rows[0][1].rate),
                "p99_ms": round(rows[0][1].percentile(0.99), 1),
                "member_vs_anonymous": round(rows[2][1].rate / anonymous - 1, 3),
                "admin_vs_anonymous": round(rows[3][1].rate / anonymous - 1, 3),
                "floor": round(floor_result.rate),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Rewards benchmark: distribute 10,000 income records among 5 contributors each, end to end.

    python bench/rewards.py [--records 10000] [--contributors 5] [--chunk 500] [--pg URL]

End to end means what a request does: one write transaction per income record that locks the
record, refuses a second distribution, reads the unit's policy, resolves the reward rules of
its jurisdiction and day, sizes the pool, splits it with ``core.money.allocate``, inserts the
distribution and its lines under ``UNIQUE (income_record_id)`` and writes the hash-chained
audit events, then commits. The batch path (``distribute_many``, what ``shelfbridge rewards
distribute`` runs) distributes another set of the same size, ``--chunk`` records per
transaction, with the same checks, rows and audit events. It runs on SQLite (a fresh file)
and, when ``--pg`` or ``SHELFBRIDGE_BENCH_PG_URL`` names a PostgreSQL server, on a throwaway
database there (dropped afterwards) as a login member of ``shelfbridge_app``, so row-level
security applies as in production. The floor, measured in the same run, is the plain
allocation arithmetic: the same pools split by ``core.money.allocate`` with the same weights,
no database. Setting up the records (assets, deals, income through the services) is timed
apart. Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from shelfbridge.accounts.actor import SYSTEM, current_actor
from shelfbridge.core.audit import current_actor as audit_actor
from shelfbridge.core.database import Database
from shelfbridge.core.migrate import upgrade
from shelfbridge.core.money import allocate
from shelfbridge.ip import distribution, service
from shelfbridge.ip.models import IncomeRecord
from shelfbridge.registry import service as registry_service
from shelfbridge.registry.reference import load_reference_data

PER_DEAL = 100
THRESHOLD = Decimal("1000000000.00")  # no second approval: the bench measures distribution


def prepare(url: str) -> None:
    """The schema and the reference data (regions), as the owner of the tables."""
    upgrade(url)
    owner = Database(url)
    try:
        with owner.unit_of_work() as session:
            load_reference_data(session)
    finally:
        owner.dispose()


def weights_for(contributors: int) -> list[int]:
    return [contributors - i for i in range(contributors)]


def seed(database: Database, records: int, contributors: int, unit: str = "BENCH") -> list[int]:
    """One Beijing state university, records/100 invention patents of ``contributors``
    inventors each, a signed licence per patent and 100 income records per licence."""
    weights = weights_for(contributors)
    income_ids: list[int] = []
    with database.unit_of_work() as session:
        org = registry_service.create(
            session,
            "organizations",
            {
                "external_id": f"ORG-{unit}",
                "name": f"基准测试大学{unit}",
                "kind": "university",
                "region_code": "110000",
            },
        )
        org_id = org.id
    deals = (records + PER_DEAL - 1) // PER_DEAL
    for n in range(deals):
        with database.unit_of_work() as session:
            asset = service.create_asset(
                session,
                {
                    "owner_org_id": org_id,
                    "kind": "invention-patent",
                    "title": f"一种基准测试方法{n}",
                    "filed_on": "2022-03-01",
                    "contributors": [
                        {"name": f"发明人{n}-{i}", "weight": str(w), "main": i < 2}
                        for i, w in enumerate(weights)
                    ],
                },
            )
            deal = service.create_deal(
                session,
                asset.id,
                {
                    "deal_type": "licence",
                    "counterparty_name": "基准测试有限公司",
                    "licence_scope": "non-exclusive",
                    "term_start": "2024-01-01",
                    "term_end": "2030-12-31",
                    "territory": "中国大陆",
                    "price_mode": "listing",
                },
            )
            service.sign_deal(session, deal.id, date(2024, 1, 2))
            for i in range(min(PER_DEAL, records - n * PER_DEAL)):
                income = service.record_income(
                    session,
                    deal.id,
                    {
                        "received_on": "2024-06-01",
                        "amount": f"{10000 + (n * PER_DEAL + i) * 7}.{i % 100:02d}",
                        "deductions": [{"kind": "taxes", "amount": "600.00"}],
                    },
                )
                income_ids.append(income.id)
    return income_ids


def run_distributions(database: Database, income_ids: list[int]) -> float:
    start = time.perf_counter()
    for income_id in income_ids:
        with database.unit_of_work() as session:
            distribution.distribute(session, income_id, second_approval_above=THRESHOLD)
    return time.perf_counter() - start


def run_batch(database: Database, income_ids: list[int], chunk: int) -> float:
    start = time.perf_counter()
    for first in range(0, len(income_ids), chunk):
        with database.unit_of_work() as session:
            report = distribution.distribute_many(
                session, income_ids[first : first + chunk], second_approval_above=THRESHOLD
            )
        assert not report.failed and not report.skipped, report
    return time.perf_counter() - start


def floor(database: Database, income_ids: list[int], contributors: int) -> float:
    """The same pools (70% of net, rounded up to the fen) split with core.money.allocate."""
    with database.unit_of_work(write=False) as session:
        nets = list(
            session.scalars(select(IncomeRecord.net).where(IncomeRecord.id.in_(income_ids)))
        )
    weights = weights_for(contributors)
    seventy, fen = Decimal("0.70"), Decimal("0.01")
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        for net in nets:
            pool = (net * seventy).quantize(fen, rounding=ROUND_CEILING)
            parts = allocate(pool, weights)
            assert sum(parts) == pool
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def check(database: Database, expected: int) -> None:
    with database.unit_of_work(write=False) as session:
        problems = distribution.check_ledger(session)
        count = len(list(session.scalars(select(IncomeRecord.id))))
    if problems or count != expected:
        sys.exit(f"ledger check failed: {problems[:3]} ({count} records)")


Row = tuple[str, str, float, float, float]  # database, path, setup s, run s, floor s


def case(label: str, database: Database, records: int, contributors: int, chunk: int) -> list[Row]:
    started = time.perf_counter()
    ids = seed(database, records, contributors)
    batch_ids = seed(database, records, contributors, unit="BATCH")
    setup = time.perf_counter() - started
    seconds = run_distributions(database, ids)
    batch_seconds = run_batch(database, batch_ids, chunk)
    check(database, 2 * records)
    floor_seconds = floor(database, ids, contributors)
    return [
        (label, "per request", setup, seconds, floor_seconds),
        (label, f"batch ({chunk} per transaction)", setup, batch_seconds, floor_seconds),
    ]


def with_postgres(url: str, body: Callable[[Database], None]) -> None:
    admin_url = make_url(url)
    name = role = f"shelfbridge_rewards_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    owner_url = admin_url.set(database=name).render_as_string(hide_password=False)
    app_url = admin_url.set(database=name, username=role).render_as_string(hide_password=False)
    database = None
    try:
        prepare(owner_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN IN ROLE shelfbridge_app")
            if admin_url.password:
                conn.exec_driver_sql(f"ALTER ROLE {role} PASSWORD '{admin_url.password}'")
        database = Database(app_url)
        body(database)
    finally:
        if database is not None:
            database.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--contributors", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--pg", default=os.environ.get("SHELFBRIDGE_BENCH_PG_URL"))
    args = parser.parse_args()
    current_actor.set(SYSTEM)
    audit_actor.set("bench")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'rewards.db'}"
        prepare(url)
        database = Database(url)
        try:
            rows.extend(case("SQLite", database, args.records, args.contributors, args.chunk))
        finally:
            database.dispose()
    if args.pg:
        with_postgres(
            args.pg,
            lambda db: rows.extend(
                case("PostgreSQL", db, args.records, args.contributors, args.chunk)
            ),
        )
    n = args.records
    print(
        f"\nDistributing {n:,} income records among {args.contributors} contributors each "
        "per path (× floor: how many times the plain arithmetic's time)\n"
    )
    print("| database | path | records/s | total s | floor records/s | × floor | setup s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, path, setup, seconds, floor_seconds in rows:
        print(
            f"| {label} | {path} | {n / seconds:,.0f} | {seconds:.1f} | "
            f"{n / floor_seconds:,.0f} | {seconds / floor_seconds:,.0f} | {setup:.1f} |"
        )
    if not args.pg:
        print("\n(PostgreSQL skipped: pass --pg URL or set SHELFBRIDGE_BENCH_PG_URL.)")


if __name__ == "__main__":
    main()

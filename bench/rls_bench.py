"""Benchmark: what the second wall (row-level security on PostgreSQL) costs.

Two figures, each against its floor in the same run on the same server:

- a transaction: ``SELECT 1`` in its own transaction as the application's role, with the
  caller settings (``core.database``: one ``set_config`` statement per transaction) against a
  bare engine that sets nothing;
- a list: the first page (20 ids) and the total of the results an officer of one
  organisation may see, with ``visible_clause`` as the application runs it, as the
  application's role (policies in force) against the superuser (policies bypassed).

It creates a scratch database and a scratch login role and drops both at the end.

    python bench/rls_bench.py [--db postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                              [--rows 20000] [--repeat 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from shelfbridge.accounts.actor import current_actor, user_actor
from shelfbridge.accounts.roles import OFFICER
from shelfbridge.accounts.visibility import visible_clause
from shelfbridge.core.database import Database
from shelfbridge.core.migrate import upgrade
from shelfbridge.registry.models import Organization, Result
from shelfbridge.registry.reference import load_reference_data

ORGS = 20
LEVELS = ("public", "internal", "partners")


def seed(owner: Database, rows: int) -> list[int]:
    with owner.unit_of_work() as session:
        load_reference_data(session)
    now = datetime.now(UTC)
    with owner.writer.begin() as conn:
        org_ids = list(
            conn.execute(
                insert(Organization).returning(Organization.id),
                [
                    {
                        "external_id": f"BENCH-ORG-{n}",
                        "name": f"基准大学{n}",
                        "kind": "university",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(ORGS)
                ],
            ).scalars()
        )
        batch = [
            {
                "external_id": f"BENCH-{n:07d}",
                "kind": "invention_patent",
                "title": f"一种复杂工况故障诊断方法 第{n}号",
                "keywords": [],
                "ipc_codes": [],
                "trl": 1 + n % 9,
                "owner_org_id": org_ids[n % ORGS],
                "confidentiality": LEVELS[n % 3],
                "status": "available",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(rows)
        ]
        for start in range(0, rows, 5000):
            conn.execute(insert(Result), batch[start : start + 5000])
        conn.exec_driver_sql("ANALYZE")
    return org_ids


def paired_us(
    floor: Callable[[], Any], case: Callable[[], Any], repeat: int, rounds: int = 7
) -> tuple[float, float]:
    """Microseconds per call of the floor and of the case: rounds alternate between the two
    (so that a busy moment of the machine hits both), and the median round counts."""
    for _ in range(min(repeat, 200)):
        floor()
        case()
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for action, found in ((floor, timings[0]), (case, timings[1])):
            start = time.perf_counter()
            for _ in range(repeat):
                action()
            found.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(timings[0]), statistics.median(timings[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    admin_url = make_url(args.db)
    if admin_url.get_backend_name() != "postgresql":
        sys.exit("row-level security exists only on PostgreSQL: pass --db postgresql+psycopg://…")
    name, role = f"shelfbridge_rls_bench_{os.getpid()}", f"shelfbridge_rls_bench_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    owner_url = admin_url.set(database=name).render_as_string(hide_password=False)
    app_url = admin_url.set(database=name, username=role).render_as_string(hide_password=False)
    owner = app = None
    bare: Engine | None = None
    try:
        upgrade(owner_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN IN ROLE shelfbridge_app")
            if admin_url.password:
                conn.exec_driver_sql(f"ALTER ROLE {role} PASSWORD '{admin_url.password}'")
        owner, app = Database(owner_url), Database(app_url)
        org_ids = seed(owner, args.rows)
        # The same engine as core.database builds, less the listener that sets the caller.
        bare = create_engine(app_url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        officer = user_actor(1, "bench-officer", False, None, [(org_ids[0], OFFICER)])
        current_actor.set(officer)

        def bare_transaction() -> None:
            assert bare is not None
            with bare.begin() as conn:
                conn.execute(text("SELECT 1"))

        def app_transaction() -> None:
            assert app is not None
            with app.reader.begin() as conn:
                conn.execute(text("SELECT 1"))

        clause = visible_clause(Result, officer)
        page = select(Result.id).where(clause).order_by(Result.id.desc()).limit(20)
        total = select(func.count()).select_from(Result).where(clause)

        def listing(database: Database) -> Callable[[], None]:
            def run() -> None:
                with database.unit_of_work(write=False) as session:
                    ids = list(session.scalars(page))
                    count = session.scalar(total)
                    assert len(ids) == 20 and count

            return run

        with app.unit_of_work(write=False) as session:
            seen_app = session.scalar(total)
        with owner.unit_of_work(write=False) as session:
            seen_owner = session.scalar(total)
        assert seen_app == seen_owner, (seen_app, seen_owner)

        list_repeat = max(args.repeat // 10, 20)
        transaction = paired_us(bare_transaction, app_transaction, args.repeat)
        listed = paired_us(listing(owner), listing(app), list_repeat)
        print(f"{args.rows} results in {ORGS} organisations; the officer sees {seen_app}")
        print(f"{'case':<44} {'floor µs':>10} {'with wall µs':>13} {'extra':>8}")
        for label, (floor, case) in (
            ("transaction: bare engine / caller settings", transaction),
            ("list page + total: superuser / app role+RLS", listed),
        ):
            extra = case - floor
            print(f"{label:<44} {floor:>10.1f} {case:>13.1f} {extra / floor:>+8.0%}")
    finally:
        for engine in (bare,):
            if engine is not None:
                engine.dispose()
        for database in (owner, app):
            if database is not None:
                database.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


if __name__ == "__main__":
    main()

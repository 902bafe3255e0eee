"""Concurrent writers keep the audit chain linear on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from shelfbridge.accounts.actor import SYSTEM, current_actor
from shelfbridge.core import audit
from shelfbridge.registry.models import Organization
from tests import factories


def test_parallel_writers_produce_one_intact_chain(database: Any) -> None:
    def write(worker: int) -> None:
        current_actor.set(SYSTEM)  # a new thread starts with the default (anonymous) actor
        for n in range(5):
            with database.unit_of_work() as session:
                factories.organization(session, name=f"并发机构{worker}-{n}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == 30
        report = audit.verify_chain(session)
    assert report.ok, report
    assert report.events_checked == 30

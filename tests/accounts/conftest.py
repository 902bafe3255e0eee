"""Fixtures of the accounts tests: a clock the tests move, and a small cast of users."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import auth, factories


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: Any) -> FakeClock:
    """The application's clock, set by the test (no sleeping)."""
    fake = FakeClock()
    app.state.accounts.clock = fake
    return fake


@dataclass(frozen=True)
class Cast:
    university: int
    university_ext: str
    enterprise: int
    enterprise_ext: str


@pytest.fixture
def cast(database: Any) -> Cast:
    """Two organisations and their people: admin-a and officer-a (university), user-e
    (enterprise), loner (no membership) and root (platform admin)."""
    with database.unit_of_work() as session:
        university = factories.organization(session, name="示例大学")
        enterprise = factories.enterprise(session, name="示例科技有限公司")
        ids = Cast(university.id, university.external_id, enterprise.id, enterprise.external_id)
    auth.create_user(database, "admin-a", memberships=[(ids.university_ext, "org_admin")])
    auth.create_user(database, "officer-a", memberships=[(ids.university_ext, "tto_officer")])
    auth.create_user(database, "user-e", memberships=[(ids.enterprise_ext, "enterprise_user")])
    auth.create_user(database, "loner")
    auth.create_user(database, "root", admin=True)
    return ids

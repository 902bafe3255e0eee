"""The demo's disclosures: one per state short of filing, written by demo-researcher-a at
清华大学, who sees theirs and none of 浙江大学's; loading again changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shelfbridge.accounts import demo as accounts_demo
from shelfbridge.ip.demo import load_demo_disclosures, load_demo_ip
from shelfbridge.ip.disclosure_models import Disclosure, listed_person_ids
from tests import auth
from tests.ip.test_demo import _world


def test_the_demo_holds_a_disclosure_in_each_state_and_a_rerun_changes_nothing(
    app: Any, database: Any
) -> None:
    _world(database)
    with database.unit_of_work() as session:
        load_demo_ip(session, second_approval_above=Decimal("50000.00"))
    with database.unit_of_work() as session:
        assert load_demo_disclosures(session) == 0
        states = dict(session.execute(select(Disclosure.external_id, Disclosure.status)).all())
        for disclosure in session.scalars(select(Disclosure)):  # the persons named, for the RLS
            linked = [c.person_id for c in disclosure.contributors]
            assert None not in linked
            assert disclosure.named_person_ids == listed_person_ids(linked)
    assert sorted(states.values()) == sorted(
        ["draft", "submitted", "under-assessment", "assessed", "decided"]
    )
    browser = TestClient(app)
    auth.sign_in(browser, "demo-researcher-a", accounts_demo.DEMO_PASSWORD)
    page = browser.get("/ip/disclosures")
    assert "一种协作机器人末端柔顺控制方法" in page.text
    assert "养殖尾水" not in page.text  # 浙江大学's
    officer = TestClient(app)
    auth.sign_in(officer, "demo-tto-b", accounts_demo.DEMO_PASSWORD)
    assert "养殖尾水" in officer.get("/ip/disclosures").text

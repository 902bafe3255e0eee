"""Deadlines of IP assets (annual fees, Paris priority, PCT national phase, office actions,
reward on grant), the iCalendar export parsed back, the command and the calendar page."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.core.errors import BadRequest, Conflict
from shelfbridge.ip import deadline_rules, deadlines, ical, office_actions, rules
from shelfbridge.ip.models import IpAsset, IpOfficeAction
from tests import auth, factories
from tests.ip.ledger_support import Ledger, build_ledger


def _asset(**fields: Any) -> IpAsset:
    values: dict[str, Any] = {
        "id": 1,
        "external_id": "IP-T-1",
        "owner_org_id": 1,
        "kind": "invention-patent",
        "title": "一种测试方法",
        "filed_on": date(2022, 3, 15),
        "status": "filed",
        "jurisdiction": "110000",
        "unit_type": "state-university",
        **fields,
    }
    return IpAsset(**values)


def _kinds(found: list[deadlines.Deadline]) -> list[tuple[str, date]]:
    return [(d.kind, d.due_on) for d in found]


def test_annual_fees_follow_the_filing_anniversaries_after_the_grant_year() -> None:
    asset = _asset(status="granted", granted_on=date(2024, 5, 10))  # in patent year 3
    found = deadlines.asset_deadlines(asset, date(2025, 1, 1), date(2027, 12, 31))
    fees = [d for d in found if d.kind == "annual-fee"]
    assert [(d.patent_year, d.due_on) for d in fees] == [
        (4, date(2025, 3, 15)),
        (5, date(2026, 3, 15)),
        (6, date(2027, 3, 15)),
    ]
    book = deadline_rules.builtin_book()
    for fee in fees:
        row = book.fee("invention", fee.patent_year or 0, date(2022, 3, 15))
        assert row is not None and fee.amount == row.fee and fee.rule_id == row.id
        assert fee.unconfirmed == (row.confidence == "U")  # the schedule is not confirmed
    assert fees[0].grace_until == date(2025, 9, 15)  # Implementing Rules Art. 115: 6 months


def test_every_patent_year_of_each_term_has_a_fee_row() -> None:
    book = deadline_rules.builtin_book()
    for patent_type, filed_on, years in (
        ("invention", date(2022, 1, 1), 20),
        ("utility-model", date(2022, 1, 1), 10),
        ("design", date(2022, 1, 1), 15),
        ("design", date(2020, 1, 1), 10),
    ):
        assert book.term_years(patent_type, filed_on) == years
        assert all(book.fee(patent_type, year, filed_on) for year in range(1, years + 1))


def test_an_old_design_stops_after_ten_years_and_a_new_one_runs_fifteen() -> None:
    old = _asset(kind="design", filed_on=date(2020, 1, 1), status="granted")
    new = _asset(kind="design", filed_on=date(2022, 1, 1), status="granted")
    assert not [
        d
        for d in deadlines.asset_deadlines(old, date(2029, 6, 1), date(2031, 12, 31))
        if d.kind == "annual-fee"
    ]
    later = deadlines.asset_deadlines(new, date(2032, 6, 1), date(2033, 12, 31))
    assert [d.patent_year for d in later if d.kind == "annual-fee"] == [12]


def test_the_paris_priority_year_is_twelve_months_and_six_for_designs() -> None:
    window = (date(2025, 9, 1), date(2026, 12, 31))
    utility = _asset(kind="utility-model", filed_on=date(2025, 9, 1))
    design = _asset(kind="design", filed_on=date(2025, 9, 1))
    assert ("paris-priority", date(2026, 9, 1)) in _kinds(
        deadlines.asset_deadlines(utility, *window)
    )
    design_found = deadlines.asset_deadlines(design, *window)
    assert ("paris-priority", date(2026, 3, 1)) in _kinds(design_found)
    paris = next(d for d in design_found if d.kind == "paris-priority")
    assert not paris.unconfirmed and "Art. 29" in paris.source("en")


def test_the_pct_national_phase_counts_thirty_months_from_the_earliest_priority() -> None:
    asset = _asset(
        filed_on=date(2023, 8, 31),
        pct_filed_on=date(2024, 8, 30),
        pct_application_number="PCT/CN2024/000001",
    )
    found = deadlines.asset_deadlines(asset, date(2025, 1, 1), date(2026, 12, 31))
    (pct,) = [d for d in found if d.kind == "pct-national-phase"]
    assert pct.due_on == date(2026, 2, 28)  # 31 August + 30 months: the month's last day
    assert pct.grace_until == date(2026, 4, 30)  # 32 months (Art. 120)
    assert pct.reference == "PCT/CN2024/000001"


def test_the_reward_on_grant_is_due_within_three_months() -> None:
    asset = _asset(status="granted", granted_on=date(2024, 5, 10))
    found = deadlines.asset_deadlines(asset, date(2024, 5, 10), date(2024, 12, 31))
    (reward,) = [d for d in found if d.kind == "grant-reward"]
    assert reward.due_on == date(2024, 8, 10)
    assert reward.amount == rules.grant_reward("invention", date(2024, 5, 10)).amount


def test_lapsed_assets_and_copyrights_have_no_patent_deadlines() -> None:
    window = (date(2022, 1, 1), date(2030, 1, 1))
    assert deadlines.asset_deadlines(_asset(status="lapsed"), *window) == []
    assert deadlines.asset_deadlines(_asset(kind="software-copyright"), *window) == []


def test_overlapping_fee_rows_are_refused() -> None:
    book = deadline_rules.builtin_book()
    with pytest.raises(rules.RuleDataError):
        deadline_rules.DeadlineBook(book.periods, (*book.fees, book.fees[0]))


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("12w", 84), ("30", 30), ("6m", 186)])
def test_windows_are_read_in_days(text: str, days: int) -> None:
    assert deadlines.parse_window(text) == days


@pytest.mark.parametrize("text", ["", "0d", "ninety", "-5d", "99999d"])
def test_a_bad_window_is_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        deadlines.parse_window(text)


# ---------------------------------------------------------------------------- iCalendar
def _unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def _unescape(value: str) -> str:
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            nxt = value[index + 1]
            out.append("\n" if nxt in "nN" else nxt)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def parse_ics(text: str) -> list[dict[str, str]]:
    """A minimal RFC 5545 reader: the VEVENTs as {property (with parameters): value}."""
    events: list[dict[str, str]] = []
    stack: list[str] = []
    for line in _unfold(text):
        name, _sep, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack.pop() == value
        elif stack[-1] == "VEVENT":
            events[-1][name] = _unescape(value)
    assert not stack
    return events


def test_the_calendar_parses_back_with_every_deadline() -> None:
    asset = _asset(
        title="一种测试方法，含逗号; 分号\\反斜杠" + "很长的标题" * 20,
        status="granted",
        granted_on=date(2024, 5, 10),
    )
    found = deadlines.asset_deadlines(asset, date(2025, 1, 1), date(2027, 12, 31))
    text = ical.calendar(found)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    events = parse_ics(text)
    assert len(events) == len(found) == 3
    for event, deadline in zip(events, found, strict=True):
        assert event["DTSTART;VALUE=DATE"] == deadline.due_on.strftime("%Y%m%d")
        assert event["SUMMARY"] == deadline.summary()
        assert event["UID"] == deadline.uid
        assert event["CATEGORIES"] == "annual-fee"
    assert len({e["UID"] for e in events}) == 3


# ---------------------------------------------------------------------------- with a database
@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def test_a_notice_of_loss_of_rights_opens_the_restoration_period(
    database: Any, ledger: Ledger
) -> None:
    restore = next(r for r in deadline_rules.builtin_book().periods if r.id == "PIR-6-RESTORE")
    assert restore.confidence == "C"  # read in Implementing Rules Art. 6(2)
    with database.unit_of_work() as session:
        lost = office_actions.add_office_action(
            session, ledger.asset, {"kind": "loss-of-rights", "issued_on": "2025-02-10"}
        )
        other = office_actions.add_office_action(
            session, ledger.asset, {"kind": "correction", "issued_on": "2025-02-10"}
        )
        assert lost.due_estimated and lost.due_on == rules.add_months(
            date(2025, 2, 10), restore.months
        )
        ids = {lost.id: "PIR-6-RESTORE", other.id: deadline_rules.OTHER_RESPONSE_RULE}
    with database.unit_of_work(write=False) as session:
        found = deadlines.upcoming(session, date(2025, 2, 10), 400)
    named = {d.office_action_id: d.rule_id for d in found if d.kind == "office-action"}
    assert named == ids  # each estimated day names the rule whose period made it
    restoration = next(d for d in found if d.office_action_id == lost.id)
    assert not restoration.unconfirmed and "第六条" in restoration.source("zh")


def test_office_actions_are_due_until_answered(database: Any, ledger: Ledger) -> None:
    with database.unit_of_work() as session:
        action = office_actions.add_office_action(
            session, ledger.asset, {"kind": "first-examination", "issued_on": "2025-02-10"}
        )
        assert (action.due_on, action.due_estimated) == (date(2025, 6, 10), True)
        given = office_actions.add_office_action(
            session,
            ledger.asset,
            {"kind": "correction", "issued_on": "2025-03-01", "due_on": "2025-04-20"},
        )
        assert not given.due_estimated
        ids = (action.id, given.id)
    with database.unit_of_work(write=False) as session:
        found = deadlines.upcoming(session, date(2025, 3, 1), 200)
        actions = [d for d in found if d.kind == "office-action"]
        assert [(d.due_on, d.unconfirmed) for d in actions] == [
            (date(2025, 4, 20), False),
            (date(2025, 6, 10), True),  # the usual period, not read on the notice
        ]
    with database.unit_of_work() as session:
        office_actions.respond_office_action(session, ids[0], date(2025, 5, 1))
        with pytest.raises(Conflict):
            office_actions.respond_office_action(session, ids[0], date(2025, 5, 2))
    with database.unit_of_work(write=False) as session:
        found = deadlines.upcoming(session, date(2025, 3, 1), 200)
        assert [d.due_on for d in found if d.kind == "office-action"] == [date(2025, 4, 20)]
        assert all(isinstance(session.get(IpOfficeAction, i), IpOfficeAction) for i in ids)


def test_the_command_prints_json_and_writes_an_ics_file(
    database: Any, run_cli: Any, tmp_path: Path
) -> None:
    with database.unit_of_work() as session:
        org = factories.organization(session, external_id="IP-ORG-CLI")
        factories.ip_asset(
            session, org.id, filed_on="2025-09-01", kind="utility-model", external_id="IP-CLI-1"
        )
    path = tmp_path / "due.ics"
    result = run_cli(
        "deadlines", "--within", "400d", "--from", "2025-09-01", "--json", "--ics", str(path)
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert {"kind": "paris-priority", "due_on": "2026-09-01"}.items() <= found[0].items()
    assert found[0]["asset_external_id"] == "IP-CLI-1"
    assert len(parse_ics(path.read_bytes().decode("utf-8"))) == len(found)
    table = run_cli("deadlines", "--within", "400d", "--from", "2025-09-01", "--org", "IP-ORG-CLI")
    assert table.exit_code == 0 and "IP-CLI-1" in table.stdout
    assert run_cli("deadlines", "--within", "soon").exit_code == 2
    assert run_cli("deadlines", "--org", "IP-ORG-NONE").exit_code == 1


def test_the_calendar_page_is_for_officers_and_exports_ics(app: Any, ledger: Ledger) -> None:
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    today = date.today()
    added = officer.post(
        f"/ip/assets/{ledger.asset}/office-actions",
        data=auth.with_csrf(
            officer, {"kind": "examination", "issued_on": today.isoformat(), "reference": "OA-9"}
        ),
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = officer.get("/ip/deadlines", params={"lang": "en"})
    assert page.status_code == 200
    assert 'data-kind="office-action"' in page.text and "OA-9" in page.text
    assert officer.get("/ip/deadlines", params={"within": "soon"}).status_code == 422
    ics = officer.get("/ip/deadlines.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert any(e["CATEGORIES"] == "office-action" for e in parse_ics(ics.text))
    asset_page = officer.get(f"/ip/assets/{ledger.asset}", params={"lang": "en"})
    assert "OA-9" in asset_page.text and 'id="office-action-form"' in asset_page.text
    for who in ("ip-researcher-a", "ip-inventor"):
        other = TestClient(app)
        auth.sign_in(other, who)
        assert other.get("/ip/deadlines").status_code == 403
        assert other.get("/ip/deadlines.ics").status_code == 403
    elsewhere = TestClient(app)
    auth.sign_in(elsewhere, "ip-officer-b")
    assert "OA-9" not in elsewhere.get("/ip/deadlines").text

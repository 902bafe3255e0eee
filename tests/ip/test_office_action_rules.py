"""Office actions under the rules as data. How a notice of the patent office reached the party
decides the day its period runs from (Implementing Rules Art. 4): a posted notice counts as
received 15 days after it was sent, one served by announcement a month after it, an electronic
or handed one on the day; a day the party shows overrides the presumption. A notice of loss of
rights is answered with the restoration request fee (Art. 6(3)). The rules are data, checked as
they are read; bad input is refused and changes nothing; the API, the asset page, the calendar
and its export take and show them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shelfbridge.core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ValidationFailed,
)
from shelfbridge.ip import deadline_rules, deadlines, ical, office_actions, views
from shelfbridge.ip.models import OFFICE_ACTION_DELIVERIES, IpOfficeAction
from shelfbridge.ip.rules import RuleDataError, add_months
from tests import auth
from tests.ip.ledger_support import Ledger, acting_as, build_ledger

BOOK = deadline_rules.builtin_book()
SENT = date(2025, 1, 31)  # a month end, so the announcement's month is visible
FIRST = BOOK.response_period("first-examination", "invention")


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _rule(delivery: str) -> deadline_rules.ServiceRule:
    rule = BOOK.service(delivery)
    assert rule is not None, f"no rule for {delivery}"
    return rule


SOURCED = {"source_zh": "第四条", "source_en": "Art. 4", "note": ""}
SERVICE_ROW = {"id": "T-1", "delivery": "post", "days": "15", "months": "0", "confidence": "C"}
FEE_ROW = {"id": "F-1", "fee": "restoration-request", "amount_yuan": "1000.00", "confidence": "U"}


def _csv_row(row: dict[str, str] = SERVICE_ROW, **changes: str) -> dict[str, str]:
    return {**SOURCED, **row, **changes}


# ---------------------------------------------------------------------------- the data
def test_every_way_of_delivery_has_one_confirmed_rule_from_article_4() -> None:
    assert {r.delivery for r in BOOK.services} == set(OFFICE_ACTION_DELIVERIES)
    for rule in BOOK.services:
        assert rule.confidence == "C" and "第四条" in rule.source("zh")
    # the text of Art. 4 (shared/docs/laws): 满15日 after posting, 满1个月 after announcement
    assert _rule("post").received(SENT) == date(2025, 2, 15)
    assert _rule("announcement").received(SENT) == date(2025, 2, 28)
    assert _rule("electronic").received(SENT) == _rule("hand").received(SENT) == SENT


@pytest.mark.parametrize(
    "changes", [{"days": "-1"}, {"months": "13"}, {"days": "x"}, {"confidence": "X"}]
)
def test_a_malformed_service_row_is_refused(changes: dict[str, str]) -> None:
    with pytest.raises((RuleDataError, ValueError)):
        deadline_rules.parse_service(_csv_row(**changes))


def test_two_rules_for_one_way_of_delivery_are_refused() -> None:
    first = deadline_rules.parse_service(_csv_row(id="A"))
    second = deadline_rules.parse_service(_csv_row(id="B", days="10"))
    with pytest.raises(RuleDataError, match="A and B"):
        deadline_rules.DeadlineBook(BOOK.periods, BOOK.fees, BOOK.reductions, (first, second))


def test_the_restoration_request_fee_is_data_and_named_for_its_notice() -> None:
    fee = BOOK.action_fee("loss-of-rights")
    assert fee is not None and fee.fee == "restoration-request"
    assert fee.amount == fee.amount.quantize(Decimal("0.01")) > 0
    assert all(BOOK.action_fee(k) is None for k in ("first-examination", "correction", "other"))
    with pytest.raises(RuleDataError):
        deadline_rules.parse_office_fee(_csv_row(FEE_ROW, amount_yuan="1000.001"))
    with pytest.raises(RuleDataError):
        deadline_rules.parse_office_fee(_csv_row(FEE_ROW, amount_yuan="0"))
    twice = (
        deadline_rules.parse_office_fee(_csv_row(FEE_ROW, id="A")),
        deadline_rules.parse_office_fee(_csv_row(FEE_ROW, id="B", amount_yuan="900.00")),
    )
    with pytest.raises(RuleDataError, match="A and B"):
        deadline_rules.DeadlineBook(BOOK.periods, BOOK.fees, office_fees=twice)


# ---------------------------------------------------------------------------- the ledger
def _add(database: Any, ledger: Ledger, **raw: str) -> IpOfficeAction:
    given = {"kind": "first-examination", "issued_on": SENT.isoformat(), **raw}
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        action = office_actions.add_office_action(session, ledger.asset, given)
        session.expunge(action)
    return action


def test_the_estimated_day_counts_from_the_day_the_notice_counts_as_received(
    database: Any, ledger: Ledger
) -> None:
    assert FIRST is not None
    electronic = _add(database, ledger)
    posted = _add(database, ledger, delivery="post")
    shown = _add(database, ledger, delivery="post", received_on="2025-02-05")
    announced = _add(database, ledger, delivery="announcement")
    assert electronic.delivery == "electronic"  # the default: how CNIPA serves most notices
    assert electronic.due_on == add_months(SENT, FIRST.months)
    assert posted.due_on == add_months(SENT + timedelta(days=15), FIRST.months)
    assert shown.due_on == add_months(date(2025, 2, 5), FIRST.months)  # the day shown wins
    assert announced.due_on == add_months(add_months(SENT, 1), FIRST.months)
    assert all(a.due_estimated for a in (electronic, posted, shown, announced))
    on_the_notice = _add(database, ledger, delivery="post", due_on="2025-04-01")
    assert (on_the_notice.due_on, on_the_notice.due_estimated) == (date(2025, 4, 1), False)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"delivery": "fax"}, "delivery"),
        ({"delivery": "post", "received_on": "2025-01-30"}, "received_on"),
        ({"received_on": "31/01/2025"}, "received_on"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    database: Any, ledger: Ledger, raw: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _add(database, ledger, **raw)
    assert {p.field for p in refused.value.problems} == {field}
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(IpOfficeAction)) == 0


def test_the_api_takes_the_delivery_and_shows_the_day_received(
    client: TestClient, ledger: Ledger
) -> None:
    officer = auth.bearer(auth.api_token(client, "ip-officer-a"))
    path = f"/api/v1/ip/assets/{ledger.asset}/office-actions"
    body = {"kind": "examination", "issued_on": SENT.isoformat(), "delivery": "post"}
    created = client.post(path, json=body, headers=officer)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert (shown["delivery"], shown["received_on"], shown["received_presumed"]) == (
        "post",
        "2025-02-15",
        True,
    )
    assert shown["delivery_label"] == "邮寄送达（自发文日起满 15 日推定收到）"
    proven = client.post(path, json={**body, "received_on": "2025-02-03"}, headers=officer)
    assert (proven.json()["received_on"], proven.json()["received_presumed"]) == (
        "2025-02-03",
        False,
    )
    refused = client.post(path, json={**body, "delivery": "fax"}, headers=officer)
    assert refused.status_code == 422 and "delivery" in refused.text


def test_the_asset_page_records_a_posted_notice(app: Any, ledger: Ledger) -> None:
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    page = officer.get(f"/ip/assets/{ledger.asset}")
    assert 'name="delivery"' in page.text and "邮寄送达" in page.text
    form = {"kind": "examination", "issued_on": SENT.isoformat(), "delivery": "post"}
    done = officer.post(
        f"/ip/assets/{ledger.asset}/office-actions",
        data=auth.with_csrf(officer, form),
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = officer.get(f"/ip/assets/{ledger.asset}")
    row = page.text.split('data-delivery="post"', 1)[1].split("</tr>", 1)[0]
    assert "2025-02-15" in row and "推定" in row
    english = officer.get(f"/ip/assets/{ledger.asset}", params={"lang": "en"})
    assert "presumed" in english.text and "Notice received on" in english.text


def test_a_notice_of_loss_of_rights_shows_the_restoration_request_fee(
    app: Any, database: Any, ledger: Ledger
) -> None:
    fee = BOOK.action_fee("loss-of-rights")
    assert fee is not None
    today = date.today().isoformat()
    lost = _add(database, ledger, kind="loss-of-rights", issued_on=today)
    other = _add(database, ledger, kind="correction", issued_on=today)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        found = {d.office_action_id: d for d in deadlines.upcoming(session, date.today(), 90)}
    restoring, correcting = found[lost.id], found[other.id]
    assert (restoring.amount, restoring.fee) == (fee.amount, fee)
    assert not restoring.unconfirmed  # the day: Art. 6(2), confirmed; the fee is marked apart
    shown = deadlines.as_dict(restoring)
    assert (shown["amount"], shown["fee"], shown["fee_rule"]) == (
        f"{fee.amount:.2f}",
        "restoration-request",
        fee.id,
    )
    assert shown["fee_unconfirmed"] == (fee.confidence == "U")
    assert correcting.amount is None and deadlines.as_dict(correcting)["fee"] is None
    assert "(restoration request fee" in ical.calendar([restoring]).replace("\r\n ", "")
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    english = officer.get("/ip/deadlines", params={"lang": "en"})
    assert "restoration request fee" in english.text and f"{fee.amount:,.2f}" in english.text


# ---------------------------------------------------------------------------- extensions
EXTENSION = BOOK.period("extension", "invention")


def _extend(database: Any, ledger: Ledger, action_id: int, actor: str = "officer_a", **raw: Any):
    with acting_as(ledger.actors[actor]), database.unit_of_work() as session:
        action = office_actions.extend_office_action(session, action_id, raw)
        shown = views.office_action(action)
    return shown


def _stored(database: Any, action_id: int) -> IpOfficeAction:
    with database.unit_of_work(write=False) as session:
        found = session.get(IpOfficeAction, action_id)
        assert found is not None
        session.expunge(found)
    return found


def test_a_designated_period_is_extended_once_before_it_ends_and_names_the_fee(
    database: Any, ledger: Ledger
) -> None:
    assert EXTENSION is not None and EXTENSION.months >= 1
    action = _add(database, ledger)
    months = EXTENSION.months  # the longest extension the rules allow
    shown = _extend(database, ledger, action.id, months=str(months), requested_on="2025-03-01")
    fee = BOOK.extension_fee(months)
    assert fee is not None
    assert (shown["due_on"], shown["extended_from"], shown["extended_months"]) == (
        add_months(action.due_on, months).isoformat(),
        action.due_on.isoformat(),
        months,
    )
    assert (shown["extension_fee"], shown["extension_fee_rule"]) == (
        f"{fee.amount:.2f}",
        fee.rule_ids,
    )
    assert shown["extendable_months"] is None  # once only
    first = next(r for r in BOOK.office_fees if r.fee == "extension-first-month")
    assert fee.rows[0] == first and len(fee.rows) == months
    with pytest.raises(Conflict):
        _extend(database, ledger, action.id, months="1")
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        due = [d for d in deadlines.upcoming(session, SENT, 400) if d.kind == "office-action"]
    assert [(d.due_on, d.extended_from) for d in due] == [
        (add_months(action.due_on, months), action.due_on)
    ]
    assert deadlines.as_dict(due[0])["extended_from"] == action.due_on.isoformat()
    exported = ical.calendar(due).replace("\r\n ", "")
    assert f"(extended from {action.due_on.isoformat()})" in exported


def test_an_extension_that_the_rules_refuse_changes_nothing(database: Any, ledger: Ledger) -> None:
    assert EXTENSION is not None
    action = _add(database, ledger)
    day_after = (action.due_on + timedelta(days=1)).isoformat()
    for raw, field in (
        ({"months": str(EXTENSION.months + 1), "requested_on": "2025-02-10"}, "months"),
        ({"months": "0", "requested_on": "2025-02-10"}, "months"),
        ({"requested_on": "2025-02-10"}, "months"),
        ({"months": "1", "requested_on": day_after}, "requested_on"),
        ({"months": "1", "requested_on": "2025-01-01"}, "requested_on"),  # before the notice
        (
            {"months": "1", "requested_on": (date.today() + timedelta(days=1)).isoformat()},
            "requested_on",
        ),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _extend(database, ledger, action.id, **raw)
        assert {p.field for p in refused.value.problems} == {field}, raw
    lost = _add(database, ledger, kind="loss-of-rights")
    with pytest.raises(BadRequest):  # the restoration period is the law's, not the office's
        _extend(database, ledger, lost.id, months="1")
    for outsider in ("researcher_a", "officer_b"):  # a notice they do not manage is hidden
        with pytest.raises(NotFound):
            _extend(database, ledger, action.id, actor=outsider, months="1")
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        office_actions.respond_office_action(session, action.id, SENT + timedelta(days=30))
    with pytest.raises(Conflict):
        _extend(database, ledger, action.id, months="1")
    for unchanged in (_stored(database, action.id), _stored(database, lost.id)):
        assert unchanged.extended_from is None and unchanged.extended_months is None
    assert _stored(database, action.id).due_on == action.due_on


def test_the_api_and_the_asset_page_extend_a_period(
    app: Any, client: TestClient, ledger: Ledger, database: Any
) -> None:
    action = _add(database, ledger, issued_on=date.today().isoformat())
    officer = auth.bearer(auth.api_token(client, "ip-officer-a"))
    path = f"/api/v1/ip/office-actions/{action.id}/extend"
    assert client.post(path, json={"months": 99}, headers=officer).status_code == 422
    done = client.post(path, json={"months": 1}, headers=officer)
    assert done.status_code == 200, done.text
    fee = BOOK.extension_fee(1)
    assert fee is not None and done.json()["extension_fee"] == f"{fee.amount:.2f}"
    assert client.post(path, json={"months": 1}, headers=officer).status_code == 409
    other = _add(database, ledger, issued_on=date.today().isoformat())
    page = TestClient(app)
    auth.sign_in(page, "ip-officer-a")
    shown = page.get(f"/ip/assets/{ledger.asset}")
    assert f'action="/ip/office-actions/{other.id}/extend"' in shown.text
    assert f'action="/ip/office-actions/{action.id}/extend"' not in shown.text  # extended
    form = auth.with_csrf(page, {"months": "1"})
    posted = page.post(f"/ip/office-actions/{other.id}/extend", data=form, follow_redirects=False)
    assert posted.status_code == 303
    shown = page.get(f"/ip/assets/{ledger.asset}")
    assert shown.text.count("延长 1 个月") == 2 and "延长期限请求费" in shown.text
    calendar = page.get("/ip/deadlines", params={"lang": "en", "within": "400d"})
    assert calendar.text.count("(extended from ") == 2

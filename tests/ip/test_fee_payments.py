"""Annual-fee payments: paid years leave the deadlines, unpaid ones go into grace and then
lapse, the rules refuse what cannot be paid, only the owner's managers record and delete, every
change is audited; the API and the page form."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.core import audit
from shelfbridge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from shelfbridge.ip import deadline_rules, deadlines, fees
from shelfbridge.ip.fee_models import IpFeePayment
from shelfbridge.ip.models import IpAsset
from shelfbridge.ip.rules import add_months
from tests import auth, factories
from tests.ip.ledger_support import Ledger, acting_as, build_ledger, granted_patent

TODAY = date.today()
DUE_7 = add_months(TODAY, 1)  # patent year 7 falls due a month from now
FILED = add_months(DUE_7, -72)
GRANTED = add_months(FILED, 30)  # in patent year 3


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


@pytest.fixture
def patent(database: Any, ledger: Ledger) -> int:
    return granted_patent(database, ledger, FILED, GRANTED)


def _full_fee(year: int) -> Decimal:
    row = deadline_rules.builtin_book().fee("invention", year, FILED)
    assert row is not None
    return row.fee


def _pay(database: Any, ledger: Ledger, asset: int, who: str = "officer_a", **raw: Any) -> Any:
    with acting_as(ledger.actors[who]), database.unit_of_work() as session:
        today = raw.pop("today", TODAY)
        payment = fees.record_payment(session, asset, raw, today=today)
        return fees.as_dict(payment)


def _fees_due(database: Any, ledger: Ledger, start: date, days: int = 400) -> list[Any]:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        found = deadlines.upcoming(session, start, days)
    return [d for d in found if d.kind == "annual-fee"]


def test_a_paid_year_leaves_the_deadlines_and_the_asset_is_maintained(
    database: Any, ledger: Ledger, patent: int
) -> None:
    assert [d.patent_year for d in _fees_due(database, ledger, TODAY)] == [7, 8]
    paid = _pay(database, ledger, patent, patent_year=7, amount="1200.00", paid_on=TODAY)
    assert paid["expected_fee"] == f"{_full_fee(7):.2f}" and paid["unconfirmed"] is True
    assert (paid["amount"], paid["late_fee"], paid["late"]) == ("1200.00", "0.00", False)
    assert [d.patent_year for d in _fees_due(database, ledger, TODAY)] == [8]
    with database.unit_of_work(write=False) as session:
        asset = session.get(IpAsset, patent)
        assert asset is not None and asset.status == "maintained"


def test_an_unpaid_year_is_in_grace_with_its_late_fee_then_lapses(
    database: Any, ledger: Ledger, patent: int
) -> None:
    in_grace = add_months(DUE_7, 2) + timedelta(days=3)  # two whole months late
    (first, *_rest) = _fees_due(database, ledger, in_grace)
    assert (first.patent_year, first.state, first.due_on) == (7, "grace", DUE_7)
    assert first.late_fee == _full_fee(7) * Decimal("0.10")  # Art. 115: 5% per month
    assert deadlines.as_dict(first)["state_label"] == "in grace period (late fee)"
    after = add_months(DUE_7, 6) + timedelta(days=1)
    lapsed = _fees_due(database, ledger, after)
    assert [(d.patent_year, d.state) for d in lapsed] == [(7, "lapsed")]
    assert "lapsed unless restored" in lapsed[0].summary()


def test_years_whose_grace_ended_before_the_asset_was_recorded_count_as_settled(
    database: Any, ledger: Ledger, patent: int
) -> None:
    # Years 4 to 6 fell due and ended their grace before the asset entered the ledger.
    assert [d.patent_year for d in _fees_due(database, ledger, TODAY)] == [7, 8]
    with database.unit_of_work() as session:
        asset = session.get(IpAsset, patent)
        assert asset is not None
        asset.created_at = datetime.combine(add_months(DUE_7, -13), datetime.min.time(), tzinfo=UTC)
    assert [(d.patent_year, d.state) for d in _fees_due(database, ledger, TODAY)] == [(6, "lapsed")]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"patent_year": 2, "amount": "900.00"}, "patent_year"),  # before the grant year
        ({"patent_year": 21, "amount": "900.00"}, "patent_year"),  # beyond the 20-year term
        ({"patent_year": 9, "amount": "900.00"}, "paid_on"),  # not yet payable
        ({"patent_year": 7, "amount": "-5"}, "amount"),
        ({"patent_year": 7, "amount": "12.345"}, "amount"),
        ({"patent_year": 7, "amount": "0"}, "amount"),
        ({"patent_year": 7, "amount": "900.00", "paid_on": TODAY + timedelta(days=1)}, "paid_on"),
        ({"patent_year": 7, "amount": "900.00", "late_fee": "10.00"}, "late_fee"),
    ],
)
def test_what_cannot_be_paid_is_refused_and_changes_nothing(
    database: Any, ledger: Ledger, patent: int, raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _pay(database, ledger, patent, **{"paid_on": TODAY, **raw})
    assert field in {p.field for p in refused.value.problems}
    with database.unit_of_work(write=False) as session:
        assert session.query(IpFeePayment).count() == 0
        asset = session.get(IpAsset, patent)
        assert asset is not None and asset.status == "granted"


def test_a_late_payment_owes_five_percent_a_month_and_after_grace_needs_restoration(
    database: Any, ledger: Ledger, patent: int
) -> None:
    day = add_months(DUE_7, 1) + timedelta(days=5)
    paid = _pay(database, ledger, patent, patent_year=7, amount="2000", paid_on=day, today=day)
    assert paid["late"] and paid["late_fee"] == f"{_full_fee(7) * Decimal('0.05'):.2f}"
    late = add_months(add_months(DUE_7, 12), 6) + timedelta(days=2)
    with pytest.raises(ValidationFailed) as refused:
        _pay(database, ledger, patent, patent_year=8, amount="2000", paid_on=late, today=late)
    assert "restored" in refused.value.problems[0].render(lambda m: m)
    restored = _pay(
        database,
        ledger,
        patent,
        patent_year=8,
        amount="2000",
        paid_on=late,
        today=late,
        restored=True,
        late_fee="450.00",
    )
    assert (restored["late_fee"], restored["restored"]) == ("450.00", True)
    assert restored["expected_late_fee"] == f"{_full_fee(8) * Decimal('0.25'):.2f}"


def test_a_year_is_paid_once_and_only_for_a_patent_in_force(
    database: Any, ledger: Ledger, patent: int
) -> None:
    _pay(database, ledger, patent, patent_year=7, amount="900", paid_on=TODAY)
    with pytest.raises(Conflict):
        _pay(database, ledger, patent, patent_year=7, amount="900", paid_on=TODAY)
    with pytest.raises(Conflict):  # the ledger's first asset is only filed
        _pay(database, ledger, ledger.asset, patent_year=1, amount="900", paid_on=TODAY)


def test_only_the_owners_managers_see_and_change_payments(
    database: Any, ledger: Ledger, patent: int
) -> None:
    with pytest.raises(PermissionDenied):
        _pay(database, ledger, patent, "researcher_a", patent_year=7, amount="9", paid_on=TODAY)
    with pytest.raises(NotFound):
        _pay(database, ledger, patent, "officer_b", patent_year=7, amount="9", paid_on=TODAY)
    paid = _pay(database, ledger, patent, "admin_a", patent_year=7, amount="9", paid_on=TODAY)
    for who, error in (("officer_b", NotFound), ("researcher_a", NotFound)):
        with (
            acting_as(ledger.actors[who]),
            database.unit_of_work() as session,
            pytest.raises(error),
        ):
            fees.delete_payment(session, paid["id"])
    with acting_as(ledger.actors["officer_b"]), database.unit_of_work() as session:
        with pytest.raises(NotFound):
            fees.payments_of(session, patent)
        assert deadlines.paid_years(session, [patent]) == {}


def test_recording_and_deleting_are_audited(database: Any, ledger: Ledger, patent: int) -> None:
    paid = _pay(database, ledger, patent, patent_year=7, amount="900.50", paid_on=TODAY)
    with acting_as(ledger.actors["officer2_a"]), database.unit_of_work() as session:
        assert fees.delete_payment(session, paid["id"]) == patent
    with database.unit_of_work(write=False) as session:
        events = list(audit.events_for(session, "ip_fee_payment", paid["id"]))
        assert [e.action for e in events] == ["create", "delete"]
        assert "900.5" in (events[0].after or "") and "900.5" in (events[1].before or "")
        assert audit.verify_chain(session).ok
    assert [d.patent_year for d in _fees_due(database, ledger, TODAY)] == [7, 8]


# ---------------------------------------------------------------------------- API and pages
def _api(client: TestClient, who: str) -> dict[str, str]:
    return auth.bearer(auth.api_token(client, "ip-" + who.replace("_", "-")))


def test_the_api_lists_records_and_deletes_payments(
    client: TestClient, ledger: Ledger, patent: int
) -> None:
    officer, path = _api(client, "officer_a"), f"/api/v1/ip/assets/{patent}/fee-payments"
    body = {"patent_year": 7, "amount": "900.00", "paid_on": TODAY.isoformat(), "reference": "R1"}
    created = client.post(path, json=body, headers=officer)
    assert created.status_code == 201, created.text
    assert client.post(path, json=body, headers=officer).status_code == 409
    bad = client.post(path, json={**body, "amount": "-1"}, headers=officer)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    beyond = client.post(path, json={**body, "patent_year": 1}, headers=officer)
    assert beyond.status_code == 422 and beyond.json()["errors"][0]["field"] == "patent_year"
    assert client.post(path, json=body, headers=_api(client, "researcher_a")).status_code == 403
    assert client.post(path, json=body, headers=_api(client, "officer_b")).status_code == 404
    listed = client.get(path, headers=officer)
    assert [p["reference"] for p in listed.json()] == ["R1"]
    assert client.get(path, headers=_api(client, "officer_b")).status_code == 404
    one = f"/api/v1/ip/fee-payments/{created.json()['id']}"
    assert client.delete(one, headers=_api(client, "officer_b")).status_code == 404
    assert client.delete(one, headers=officer).status_code == 204
    assert client.get(path, headers=officer).json() == []


def test_the_page_forms_record_and_delete_a_payment(app: Any, ledger: Ledger, patent: int) -> None:
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    page = officer.get(f"/ip/assets/{patent}", params={"lang": "en"})
    assert page.status_code == 200 and "fee-payment-form" in page.text
    form = {"patent_year": "7", "amount": "9x", "paid_on": TODAY.isoformat(), "back": "asset"}
    refused = officer.post(f"/ip/assets/{patent}/fee-payments", data=auth.with_csrf(officer, form))
    assert refused.status_code == 422 and "field-error" in refused.text
    form["amount"] = "900.00"
    form["back"] = "deadlines"
    done = officer.post(
        f"/ip/assets/{patent}/fee-payments",
        data=auth.with_csrf(officer, form),
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/ip/deadlines")
    page = officer.get(f"/ip/assets/{patent}", params={"lang": "en"})
    assert 'id="fee-payments"' in page.text and 'data-year="7"' in page.text
    calendar = officer.get("/ip/deadlines", params={"within": "420d"})
    assert f"/ip/assets/{patent}/fee-payments/new?year=8" in calendar.text
    assert f"/ip/assets/{patent}/fee-payments/new?year=7" not in calendar.text
    assert officer.get(f"/ip/assets/{patent}/fee-payments/new?year=8").status_code == 200
    other = TestClient(app)
    auth.sign_in(other, "ip-researcher-a")
    assert other.get(f"/ip/assets/{patent}/fee-payments/new").status_code == 403


def test_the_asset_page_warns_of_a_lapse(database: Any, app: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        due = add_months(TODAY, -8)
        asset = factories.ip_asset(
            session,
            ledger.org_a,
            filed_on=add_months(due, -36).isoformat(),
            status="granted",
            granted_on=add_months(due, -20).isoformat(),
        )
        asset.created_at = datetime.combine(add_months(TODAY, -12), datetime.min.time(), tzinfo=UTC)
        asset_id = asset.id
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    page = officer.get(f"/ip/assets/{asset_id}", params={"lang": "en"})
    assert 'id="fee-lapsed-warning"' in page.text and 'data-state="lapsed"' in page.text
    # the way on: the office's notice opens the restoration period, and the form offers it
    assert "notice of loss of rights" in page.text and 'value="loss-of-rights"' in page.text


def test_the_commands_record_a_payment_and_mark_grace(
    database: Any, run_cli: Any, patent: int
) -> None:
    paid = run_cli(
        "fees", "pay", str(patent), "--year", "7", "--amount", "900", "--on", TODAY.isoformat()
    )
    assert paid.exit_code == 0, paid.output
    again = run_cli(
        "fees", "pay", str(patent), "--year", "7", "--amount", "900", "--on", TODAY.isoformat()
    )
    assert again.exit_code == 1
    early = run_cli(
        "fees", "pay", str(patent), "--year", "9", "--amount", "9", "--on", TODAY.isoformat()
    )
    assert early.exit_code == 1 and "paid_on" in early.stderr
    in_grace = (add_months(DUE_7, 14) + timedelta(days=3)).isoformat()  # year 8, 2 months late
    found = run_cli("deadlines", "--from", in_grace, "--within", "30d", "--json")
    (year_8,) = [d for d in json.loads(found.stdout) if d["kind"] == "annual-fee"]
    assert (year_8["patent_year"], year_8["state"]) == (8, "grace")
    assert year_8["late_fee"] == f"{_full_fee(8) * Decimal('0.10'):.2f}"
    table = run_cli("deadlines", "--from", in_grace, "--within", "30d", lang="en")
    words = table.stdout.split()  # the table wraps long cells at spaces
    assert {"grace", "period", "(late", "fee)"} <= set(words) and "¥" in table.stdout

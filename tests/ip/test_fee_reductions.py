"""Fee reductions (费减): the data file is checked as it is read, a reduced asset's annual fees
shrink for exactly the years the reduction covers (from the year of grant), its late fee stays
a share of the full fee, payments expect the reduced fee and name both rules; set through the
API and the asset page by the owner's managers only, for patents only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.core.errors import PermissionDenied, ValidationFailed
from shelfbridge.ip import deadline_rules, deadlines, fees, service
from shelfbridge.ip.deadline_rules import ReductionRow
from shelfbridge.ip.models import IpAsset
from shelfbridge.ip.rules import RuleDataError, add_months
from tests import auth, factories
from tests.ip.ledger_support import Ledger, acting_as, build_ledger, granted_patent

TODAY = date.today()
DUE_7 = add_months(TODAY, 1)  # patent year 7 falls due a month from now
FILED = add_months(DUE_7, -72)
GRANTED = add_months(FILED, 30)  # in patent year 3
BOOK = deadline_rules.builtin_book()


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _patent(database: Any, ledger: Ledger, **fields: Any) -> int:
    return granted_patent(database, ledger, FILED, GRANTED, **fields)


def _row(kind: str, due_on: date) -> ReductionRow:
    found = [r for r in BOOK.reductions if r.covers(kind, due_on)]
    assert len(found) == 1, "the data file must cover every due day once per kind"
    return found[0]


def _reduced(year: int, kind: str, due_on: date) -> tuple[Decimal, Decimal]:
    """The schedule's fee of a year and what remains of it under the reduction (from the file,
    computed here by hand)."""
    fee = BOOK.fee("invention", year, FILED)
    assert fee is not None
    kept = fee.fee * (100 - _row(kind, due_on).percent) / 100
    return fee.fee, kept.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _annual(database: Any, ledger: Ledger, start: date, days: int = 400) -> list[Any]:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        found = deadlines.upcoming(session, start, days)
    return [d for d in found if d.kind == "annual-fee"]


# ---------------------------------------------------------------------------- the data
def test_the_builtin_reductions_cover_both_kinds_on_every_day_and_are_marked() -> None:
    for kind in deadline_rules.REDUCTION_KINDS:
        for day in (date(2017, 1, 1), date(2018, 7, 31), date(2018, 8, 1), TODAY):
            row = _row(kind, day)
            assert 0 < row.percent < 100 and row.confidence in ("C", "S", "U")
            assert row.source("zh") and row.source("en")
    # the span grew in 2018: a fee due later is reduced for more years than one due before
    assert (
        _row("sole", date(2018, 8, 1)).years_from_grant
        > _row("sole", date(2018, 7, 31)).years_from_grant
    )


def _csv_row(**changes: str) -> dict[str, str]:
    row = {
        "id": "FR-T",
        "reduction": "sole",
        "percent": "85",
        "years_from_grant": "10",
        "due_from": "",
        "due_until": "",
        "confidence": "U",
        "source_zh": "测试",
        "source_en": "test",
    }
    return {**row, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"reduction": "all"},
        {"percent": "0"},
        {"percent": "100"},
        {"years_from_grant": "0"},
        {"confidence": "X"},
    ],
)
def test_a_malformed_reduction_row_is_refused(changes: dict[str, str]) -> None:
    with pytest.raises(RuleDataError):
        deadline_rules.parse_reduction(_csv_row(**changes))


def test_two_reductions_of_the_same_fees_are_refused() -> None:
    early = deadline_rules.parse_reduction(_csv_row(id="A", due_until="2018-07-31"))
    overlapping = deadline_rules.parse_reduction(_csv_row(id="B", due_from="2018-07-31"))
    later = deadline_rules.parse_reduction(_csv_row(id="C", due_from="2018-08-01"))
    assert deadline_rules.DeadlineBook(BOOK.periods, BOOK.fees, (early, later)).reductions
    with pytest.raises(RuleDataError, match="A and B"):
        deadline_rules.DeadlineBook(BOOK.periods, BOOK.fees, (early, overlapping))


def test_payable_reduces_only_the_years_from_the_grant_year_the_row_covers() -> None:
    fee = BOOK.fee("invention", 4, FILED)
    assert fee is not None
    due = date(2025, 3, 1)
    row = _row("joint", due)
    grant_year = 3
    inside = BOOK.payable(fee, "joint", grant_year + row.years_from_grant - 1, grant_year, due)
    after = BOOK.payable(fee, "joint", grant_year + row.years_from_grant, grant_year, due)
    before = BOOK.payable(fee, "joint", grant_year - 1, grant_year, due)
    none = BOOK.payable(fee, "none", grant_year, grant_year, due)
    assert inside.reduction == row and inside.amount == fee.fee * (100 - row.percent) / 100
    assert inside.full == fee.fee and inside.rule_ids == f"{fee.id}+{row.id}"
    assert inside.unconfirmed == ("U" in (fee.confidence, row.confidence))
    for untouched in (after, before, none):
        assert (untouched.amount, untouched.reduction) == (fee.fee, None)


# ---------------------------------------------------------------------------- deadlines, payments
def test_a_reduced_patent_shows_the_reduced_fee_beside_the_full_one(
    database: Any, ledger: Ledger
) -> None:
    _patent(database, ledger, fee_reduction="sole")
    (year_7, year_8) = _annual(database, ledger, TODAY)
    full, kept = _reduced(7, "sole", year_7.due_on)
    assert (year_7.patent_year, year_7.amount, year_7.full_amount) == (7, kept, full)
    assert year_7.reduction == _row("sole", year_7.due_on) and year_7.unconfirmed
    shown = deadlines.as_dict(year_8)
    assert shown["amount"] == f"{_reduced(8, 'sole', year_8.due_on)[1]:.2f}"
    assert Decimal(shown["reduction_percent"]) == _row("sole", year_8.due_on).percent
    assert shown["reduction_rule"] == _row("sole", year_8.due_on).id


def test_the_years_past_the_reduction_pay_the_full_fee(database: Any, ledger: Ledger) -> None:
    asset_id = _patent(database, ledger, fee_reduction="sole")
    span = _row("sole", TODAY).years_from_grant
    last_reduced = 3 + span - 1  # granted in patent year 3
    start = add_months(FILED, 12 * (last_reduced - 1)) - timedelta(days=1)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        asset = session.get(IpAsset, asset_id)
        assert asset is not None
        found = deadlines.asset_deadlines(asset, start, start + timedelta(days=380), [], None)
    by_year = {d.patent_year: d for d in found if d.kind == "annual-fee"}
    assert by_year[last_reduced].full_amount is not None
    following = by_year[last_reduced + 1]
    assert following.full_amount is None and following.reduction is None
    assert following.amount == _reduced(last_reduced + 1, "sole", following.due_on)[0]


def test_a_late_fee_stays_a_share_of_the_full_fee(database: Any, ledger: Ledger) -> None:
    asset_id = _patent(database, ledger, fee_reduction="joint")
    in_grace = add_months(DUE_7, 2) + timedelta(days=3)  # two whole months late
    (first, *_rest) = _annual(database, ledger, in_grace)
    full, kept = _reduced(7, "joint", DUE_7)
    assert (first.state, first.amount, first.late_fee) == ("grace", kept, full * Decimal("0.10"))
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        raw = {"patent_year": 7, "amount": f"{kept}", "paid_on": in_grace}
        payment = fees.as_dict(fees.record_payment(session, asset_id, raw, today=in_grace))
    assert payment["expected_fee"] == f"{kept:.2f}"
    assert payment["expected_late_fee"] == f"{full * Decimal('0.10'):.2f}"
    assert payment["fee_rule"].endswith("+" + _row("joint", DUE_7).id)


# ---------------------------------------------------------------------------- who sets it
def test_only_the_owners_managers_set_it_and_only_on_patents(database: Any, ledger: Ledger) -> None:
    asset_id = _patent(database, ledger)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        assert (
            service.set_fee_reduction(session, asset_id, {"fee_reduction": "joint"}).fee_reduction
            == "joint"
        )
        with pytest.raises(ValidationFailed) as unknown:
            service.set_fee_reduction(session, asset_id, {"fee_reduction": "half"})
        assert {p.field for p in unknown.value.problems} == {"fee_reduction"}
        secret = factories.ip_asset(session, ledger.org_a, kind="technical-secret", filed_on=None)
        with pytest.raises(ValidationFailed):
            service.set_fee_reduction(session, secret.id, {"fee_reduction": "sole"})
        with pytest.raises(ValidationFailed):
            factories.ip_asset(
                session, ledger.org_a, kind="technical-secret", filed_on=None, fee_reduction="sole"
            )
    with (
        acting_as(ledger.actors["researcher_a"]),
        database.unit_of_work() as session,
        pytest.raises(PermissionDenied),
    ):
        service.set_fee_reduction(session, asset_id, {"fee_reduction": "none"})
    with database.unit_of_work(write=False) as session:
        asset = session.get(IpAsset, asset_id)
        assert asset is not None and asset.fee_reduction == "joint"


def test_the_api_creates_and_changes_it(client: TestClient, ledger: Ledger, database: Any) -> None:
    asset_id = _patent(database, ledger, fee_reduction="sole")
    officer = auth.bearer(auth.api_token(client, "ip-officer-a"))
    path = f"/api/v1/ip/assets/{asset_id}"
    shown = client.get(path, headers=officer).json()
    assert (shown["fee_reduction"], shown["fee_reduction_label"]) == (
        "sole",
        "已获费减（单一权利人）",
    )
    changed = client.post(path + "/fee-reduction", json={"fee_reduction": "none"}, headers=officer)
    assert changed.status_code == 200 and changed.json()["fee_reduction"] == "none"
    refused = client.post(path + "/fee-reduction", json={"fee_reduction": "85"}, headers=officer)
    assert refused.status_code == 422
    other = auth.bearer(auth.api_token(client, "ip-officer-b"))
    assert (
        client.post(
            path + "/fee-reduction", json={"fee_reduction": "sole"}, headers=other
        ).status_code
        == 404
    )
    assert client.get(path, headers=officer).json()["fee_reduction"] == "none"
    listed = client.get("/api/v1/ip/deadlines", params={"within": "400d"}, headers=officer).json()
    assert all(d["full_amount"] is None for d in listed if d["asset_id"] == asset_id)


def test_the_asset_page_sets_it_and_the_deadlines_show_it(
    app: Any, ledger: Ledger, database: Any
) -> None:
    asset_id = _patent(database, ledger)
    officer = TestClient(app)
    auth.sign_in(officer, "ip-officer-a")
    page = officer.get(f"/ip/assets/{asset_id}")
    assert 'id="fee-reduction-form"' in page.text and "已减缴" not in page.text
    form = auth.with_csrf(officer, {"fee_reduction": "sole"})
    done = officer.post(f"/ip/assets/{asset_id}/fee-reduction", data=form, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, f"/ip/assets/{asset_id}")
    page = officer.get(f"/ip/assets/{asset_id}")
    assert "已获费减（单一权利人）" in page.text and "已减缴" in page.text
    english = officer.get("/ip/deadlines", params={"within": "400d", "lang": "en"})
    full, _kept = _reduced(7, "sole", DUE_7)
    assert f'data-full="{full:.2f}"' in english.text and "fee reduction" in english.text
    researcher = TestClient(app)
    auth.sign_in(researcher, "ip-researcher-a")
    form = auth.with_csrf(researcher, {"fee_reduction": "none"})
    assert researcher.post(f"/ip/assets/{asset_id}/fee-reduction", data=form).status_code == 403

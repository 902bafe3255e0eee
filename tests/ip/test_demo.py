"""The IP demo: assets, deals, income and distributions for the two demo universities, the
demo researcher linked to an inventor who reads a statement, and nothing changes on a rerun."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shelfbridge.accounts import demo as accounts_demo
from shelfbridge.core.settings import Settings
from shelfbridge.ip import deadlines, distribution
from shelfbridge.ip.demo import load_demo_ip
from shelfbridge.ip.models import Distribution, IncomeRecord, IpAsset
from tests import auth, factories

ORGS = (
    (accounts_demo.UNIVERSITY_A, "清华大学", "university", "110000"),
    (accounts_demo.UNIVERSITY_B, "浙江大学", "university", "330000"),
    (accounts_demo.ENTERPRISE_E1, "苏州澄川新材料科技有限公司", "enterprise", "320500"),
    (accounts_demo.ENTERPRISE_E2, "宁波蓝湾水产食品有限公司", "enterprise", "330200"),
    (accounts_demo.FUND, "钱塘江科技成果转化示例基金", "fund", "330100"),
    (accounts_demo.GOVERNMENT, "浙江省科学技术厅", "government", "330000"),
)


def _world(database: Any) -> None:
    with database.unit_of_work() as session:
        for external_id, name, kind, region in ORGS:
            factories.organization(
                session, external_id=external_id, name=name, kind=kind, region_code=region
            )
        accounts_demo.load_demo_accounts(session, Settings(demo_mode=True))


def _load(database: Any) -> dict[str, int]:
    with database.unit_of_work() as session:
        return load_demo_ip(session, second_approval_above=Decimal("50000.00"))


def test_the_demo_ledger_holds_and_a_rerun_changes_nothing(database: Any) -> None:
    _world(database)
    assert _load(database) == {"assets": 5, "deals": 2, "income": 3, "distributions": 3}
    assert _load(database) == {"assets": 0, "deals": 0, "income": 0, "distributions": 0}
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(IpAsset)) == 5
        assert distribution.check_ledger(session) == []
        soon = deadlines.upcoming(session, date.today(), 90)
        assert {"paris-priority", "office-action"} <= {
            d.kind for d in soon if d.asset_external_id == "IP-DEMO-003"
        }
        reduced = session.scalars(
            select(IpAsset.external_id).where(IpAsset.fee_reduction != "none")
        )
        assert list(reduced) == ["IP-DEMO-001"]  # the demo shows a fee reduction (费减)
        found = {
            income.external_id: d
            for d, income in session.execute(
                select(Distribution, IncomeRecord).join(
                    IncomeRecord, IncomeRecord.id == Distribution.income_record_id
                )
            )
        }
    # Beijing: 70% of 450,000.00; Zhejiang: the university's own 75% of 740,000.00 (publicly
    # funded R&D costs are not deductible there).
    assert (found["INC-DEMO-001"].pool, found["INC-DEMO-001"].status) == (
        Decimal("315000.00"),
        "paid",
    )
    assert found["INC-DEMO-002"].status == "requested"
    assert (found["INC-DEMO-101"].pool, found["INC-DEMO-101"].basis) == (
        Decimal("555000.00"),
        "policy",
    )


def test_the_demo_researcher_reads_a_statement(app: Any, database: Any) -> None:
    _world(database)
    _load(database)
    browser = TestClient(app)
    auth.sign_in(browser, "demo-researcher-a", accounts_demo.DEMO_PASSWORD)
    page = browser.get("/ip/statement", params={"lang": "zh"})
    assert page.status_code == 200
    assert "示例发明人甲" in page.text and "189,000.00" in page.text
    assert "126,000.00" not in page.text  # 示例发明人乙's part

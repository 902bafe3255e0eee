"""The demo accounts: one user per kind of caller, all with the password ``shelfbridge-demo``.

Created only in demo mode (``SHELFBRIDGE_DEMO_MODE``), after the demo data is loaded: the
organisations below are records of ``datasets/demo`` (see its NOTICE), chosen by external id.
Running it again creates what is missing and changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from shelfbridge.accounts import repository, service
from shelfbridge.accounts.errors import DemoModeOnly
from shelfbridge.accounts.roles import (
    ENTERPRISE_USER,
    GOVERNMENT_ANALYST,
    INVESTOR,
    OFFICER,
    RESEARCHER,
)
from shelfbridge.core.errors import BadRequest
from shelfbridge.core.i18n import N_
from shelfbridge.core.settings import Settings

DEMO_PASSWORD = "shelfbridge-demo"

UNIVERSITY_A = "ORG-e702c99732c2"  # 清华大学
UNIVERSITY_B = "ORG-d192a0548c75"  # 浙江大学
ENTERPRISE_E1 = "ORG-8041648b8c4f"  # 苏州澄川新材料科技有限公司 (illustrative)
ENTERPRISE_E2 = "ORG-d2eecfdab7a0"  # 宁波蓝湾水产食品有限公司 (illustrative)
FUND = "ORG-b1f2a118fbbc"  # 钱塘江科技成果转化示例基金 (illustrative)
GOVERNMENT = "ORG-f55436e882c2"  # 浙江省科学技术厅


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    organization: str | None = None  # external id
    role: str | None = None
    platform_admin: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("demo-admin", "演示·平台管理员", platform_admin=True),
    DemoAccount("demo-tto-a", "演示·清华大学技术转移办公室", UNIVERSITY_A, OFFICER),
    DemoAccount("demo-researcher-a", "演示·清华大学研究人员", UNIVERSITY_A, RESEARCHER),
    DemoAccount("demo-tto-b", "演示·浙江大学技术转移办公室", UNIVERSITY_B, OFFICER),
    DemoAccount("demo-enterprise-e1", "演示·澄川新材料", ENTERPRISE_E1, ENTERPRISE_USER),
    DemoAccount("demo-enterprise-e2", "演示·蓝湾水产", ENTERPRISE_E2, ENTERPRISE_USER),
    DemoAccount("demo-investor", "演示·钱塘江示例基金", FUND, INVESTOR),
    DemoAccount("demo-gov", "演示·浙江省科学技术厅", GOVERNMENT, GOVERNMENT_ANALYST),
)


def load_demo_accounts(session: Session, settings: Settings) -> list[tuple[str, bool]]:
    """Create the demo accounts that are missing; returns (username, created) for each.

    Refused (DemoModeOnly) outside demo mode; BadRequest when the demo data is not loaded.
    """
    if not settings.demo_mode:
        raise DemoModeOnly()
    organizations = {}
    for account in DEMO_ACCOUNTS:
        if account.organization and account.organization not in organizations:
            found = repository.organization_by_external_id(session, account.organization)
            if found is None:
                raise BadRequest(
                    N_(
                        "The organisation {external_id} of the demo accounts is missing. "
                        "Load the demo data first: shelfbridge demo load."
                    ),
                    external_id=account.organization,
                )
            organizations[account.organization] = found
    outcome: list[tuple[str, bool]] = []
    for account in DEMO_ACCOUNTS:
        user = repository.user_by_username(session, account.username)
        created = user is None
        if user is None:
            user = service.create_user(
                session,
                account.username,
                DEMO_PASSWORD,
                display_name=account.display_name,
                is_platform_admin=account.platform_admin,
            )
        if account.organization and account.role:
            organization = organizations[account.organization]
            held = repository.live_memberships_in(session, user.id, organization.id)
            if not any(m.role == account.role for m in held):
                service.grant(session, user, organization, account.role)
        outcome.append((account.username, created))
    return outcome

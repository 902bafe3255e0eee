"""Roles a member can hold in an organisation, and what each role may do there.

Rules as data: each permission names the roles that hold it. Platform admins hold every
permission everywhere; anonymous visitors hold none.
"""

from __future__ import annotations

from shelfbridge.core.i18n import N_

ORG_ADMIN = "org_admin"
OFFICER = "tto_officer"
RESEARCHER = "researcher"
ENTERPRISE_USER = "enterprise_user"
INVESTOR = "investor"
GOVERNMENT_ANALYST = "government_analyst"

ROLES = {
    ORG_ADMIN: N_("Organisation admin"),
    OFFICER: N_("Tech-transfer officer"),
    RESEARCHER: N_("Researcher"),
    ENTERPRISE_USER: N_("Enterprise user"),
    INVESTOR: N_("Investor"),
    GOVERNMENT_ANALYST: N_("Government analyst"),
}

# permission -> roles (inside the organisation concerned) that hold it
PERMISSIONS: dict[str, frozenset[str]] = {
    # see the organisation's internal and partners records
    "record.read_internal": frozenset(
        {ORG_ADMIN, OFFICER, RESEARCHER, ENTERPRISE_USER, INVESTOR, GOVERNMENT_ANALYST}
    ),
    # create, change and delete the organisation's records
    "record.write": frozenset({ORG_ADMIN, OFFICER, ENTERPRISE_USER}),
    # see contributor shares and money fields of the organisation's records; every role that
    # writes a record also reads these, so an edit form never shows what its user may not see
    "record.read_sensitive": frozenset({ORG_ADMIN, OFFICER, ENTERPRISE_USER}),
    # give and withdraw sharing grants on the organisation's records
    "record.share": frozenset({ORG_ADMIN, OFFICER}),
    # invite, change the role of, and remove members
    "members.manage": frozenset({ORG_ADMIN}),
    # the unit's IP ledger: assets, deals and their terms, income, reward policies and
    # distributions (request, approve, pay); contributors see their own statement instead
    "ip.manage": frozenset({ORG_ADMIN, OFFICER}),
}

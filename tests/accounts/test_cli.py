"""``shelfbridge user create | grant | revoke | disable`` and ``shelfbridge demo accounts``."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shelfbridge.accounts import passwords
from shelfbridge.accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from shelfbridge.accounts.models import Membership, User
from shelfbridge.cli import app as cli_app
from tests import auth, factories
from tests.conftest import app_url


@pytest.fixture
def cli_input(db_url: str) -> Any:
    """Like run_cli, with standard input and extra environment."""

    def invoke(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Any:
        return contextvars.copy_context().run(
            CliRunner().invoke,
            cli_app,
            [*args, "--db", app_url(db_url), "--lang", "en"],
            input=stdin,
            env={"SHELFBRIDGE_MIGRATION_DATABASE_URL": db_url, **(env or {})},
            catch_exceptions=False,
        )

    return invoke


def _user(database: Any, username: str) -> User | None:
    with database.unit_of_work(write=False) as session:
        return session.scalar(select(User).where(User.username == username))


def _roles(database: Any, username: str) -> list[tuple[str, str]]:
    from shelfbridge.registry.models import Organization

    with database.unit_of_work(write=False) as session:
        rows = session.execute(
            select(Organization.external_id, Membership.role)
            .join(Membership, Membership.organization_id == Organization.id)
            .join(User, User.id == Membership.user_id)
            .where(User.username == username, Membership.ended_at.is_(None))
            .order_by(Membership.role)
        )
        return [(org, role) for org, role in rows.tuples()]


@pytest.fixture
def university(database: Any) -> str:
    with database.unit_of_work() as session:
        return str(factories.organization(session, external_id="ORG-UNI").external_id)


def test_user_create_reads_the_password_from_stdin_and_adds_the_membership(
    cli_input: Any, database: Any, university: str, client: Any
) -> None:
    result = cli_input(
        "user", "create", "Zhang.San", "--password-stdin", "--display-name", "张三",
        "--org", university, "--role", "tto_officer",
        stdin=auth.PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "User zhang.san created." in result.output
    user = _user(database, "zhang.san")
    assert user is not None and user.display_name == "张三" and not user.is_platform_admin
    assert passwords.verify_password(user.password_hash, auth.PASSWORD)
    assert _roles(database, "zhang.san") == [(university, "tto_officer")]
    auth.sign_in(client, "zhang.san")


def test_user_create_asks_twice_when_no_stdin_flag(cli_input: Any, database: Any) -> None:
    result = cli_input("user", "create", "root", "--admin", stdin=f"{auth.PASSWORD}\n" * 2)
    assert result.exit_code == 0, result.output
    user = _user(database, "root")
    assert user is not None and user.is_platform_admin


def test_user_create_refuses_a_weak_password_and_says_why(cli_input: Any, database: Any) -> None:
    result = cli_input("user", "create", "alice", "--password-stdin", stdin="alice12345\n")
    assert result.exit_code == 1
    assert "password: Use at least 12 characters (this one has 10)." in result.output
    assert "password: The password must not contain the username." in result.output
    assert _user(database, "alice") is None


def test_user_create_refuses_a_taken_username_and_a_bad_role(
    cli_input: Any, university: str
) -> None:
    auth_line = auth.PASSWORD + "\n"
    assert cli_input("user", "create", "alice", "--password-stdin", stdin=auth_line).exit_code == 0
    again = cli_input("user", "create", "alice", "--password-stdin", stdin=auth_line)
    assert again.exit_code == 1 and "This username is taken." in again.output
    role = cli_input(
        "user", "create", "bob", "--password-stdin", "--org", university, "--role", "king",
        stdin=auth_line,
    )  # fmt: skip
    assert role.exit_code == 1 and "Unknown role “king”" in role.output
    half = cli_input("user", "create", "carol", "--password-stdin", "--org", university)
    assert half.exit_code == 2 and "Give --org and --role together." in half.output


def test_user_grant_and_revoke(run_cli: Any, database: Any, university: str) -> None:
    auth.create_user(database, "alice")
    granted = run_cli("user", "grant", "alice", university, "researcher")
    assert granted.exit_code == 0 and "alice is now researcher in" in granted.output
    run_cli("user", "grant", "alice", university, "org_admin")
    assert _roles(database, "alice") == [(university, "org_admin"), (university, "researcher")]
    twice = run_cli("user", "grant", "alice", university, "researcher")
    assert twice.exit_code == 1 and "already has this role" in twice.output

    one = run_cli("user", "revoke", "alice", university, "--role", "org_admin")
    assert one.exit_code == 0 and "Ended 1 membership(s)" in one.output
    assert _roles(database, "alice") == [(university, "researcher")]
    assert run_cli("user", "revoke", "alice", university).exit_code == 0
    assert _roles(database, "alice") == []
    none_left = run_cli("user", "revoke", "alice", university)
    assert none_left.exit_code == 1 and "has no membership" in none_left.output


def test_user_commands_name_what_does_not_exist(run_cli: Any, database: Any) -> None:
    auth.create_user(database, "alice")
    nobody = run_cli("user", "grant", "ghost", "ORG-X", "researcher")
    assert nobody.exit_code == 1 and "No user has the username “ghost”." in nobody.output
    no_org = run_cli("user", "grant", "alice", "ORG-X", "researcher")
    assert no_org.exit_code == 1 and "No organisation has the external ID “ORG-X”." in no_org.output
    assert run_cli("user", "disable", "ghost").exit_code == 1


def test_user_disable_speaks_chinese_too(run_cli: Any, database: Any) -> None:
    auth.create_user(database, "alice")
    result = run_cli("user", "disable", "alice", lang="zh")
    assert result.exit_code == 0 and "已停用" in result.output
    user = _user(database, "alice")
    assert user is not None and user.disabled_at is not None


# ---------------------------------------------------------------- demo accounts
def _demo_organizations(database: Any) -> None:
    needed = {a.organization for a in DEMO_ACCOUNTS if a.organization}
    kinds = {"ORG-b1f2a118fbbc": "fund", "ORG-f55436e882c2": "government"}
    with database.unit_of_work() as session:
        for n, external_id in enumerate(sorted(needed)):
            kind = kinds.get(external_id, "university")
            factories.organization(session, external_id=external_id, name=f"演示机构{n}", kind=kind)


def test_demo_accounts_are_refused_outside_demo_mode(cli_input: Any, database: Any) -> None:
    _demo_organizations(database)
    result = cli_input("demo", "accounts", env={"SHELFBRIDGE_DEMO_MODE": "0"})
    assert result.exit_code == 1
    assert "Demo accounts are created only in demo mode." in result.output
    assert _user(database, "demo-admin") is None


def test_demo_accounts_in_demo_mode(cli_input: Any, database: Any, client: Any) -> None:
    _demo_organizations(database)
    result = cli_input("demo", "accounts", env={"SHELFBRIDGE_DEMO_MODE": "1"})
    assert result.exit_code == 0, result.output
    for account in DEMO_ACCOUNTS:
        assert f"{account.username}: created" in result.output
        user = _user(database, account.username)
        assert user is not None and user.is_platform_admin == account.platform_admin
        expected = [(account.organization, account.role)] if account.organization else []
        assert _roles(database, account.username) == expected
    assert len(DEMO_ACCOUNTS) == 8
    auth.sign_in(client, "demo-tto-a", DEMO_PASSWORD)
    again = cli_input("demo", "accounts", env={"SHELFBRIDGE_DEMO_MODE": "1"})
    assert again.exit_code == 0 and "demo-gov: already there" in again.output


def test_demo_accounts_need_the_demo_data(cli_input: Any, database: Any) -> None:
    result = cli_input("demo", "accounts", env={"SHELFBRIDGE_DEMO_MODE": "1"})
    assert result.exit_code == 1
    assert "Load the demo data first: shelfbridge demo load." in result.output


def test_demo_load_creates_the_demo_accounts_only_in_demo_mode(
    cli_input: Any, database: Any, tmp_path: Any
) -> None:
    import json

    organizations = sorted({a.organization for a in DEMO_ACCOUNTS if a.organization})
    records = {
        "organizations": [
            {"external_id": ext, "name": f"演示机构{n}", "kind": "university"}
            for n, ext in enumerate(organizations)
        ]
        + [{"external_id": "ENT-1", "name": "演示企业", "kind": "enterprise"}],
        "people": [{"external_id": "PER-1", "name": "演示人"}],
        "results": [{"external_id": "RES-1", "kind": "paper", "title": "演示论文"}],
        "demands": [
            {
                "external_id": "DEM-1",
                "enterprise": "ENT-1",
                "title": "演示需求",
                "description": "无",
            }
        ],
    }
    for kind, rows in records.items():
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (tmp_path / f"{kind}.jsonl").write_text(lines, encoding="utf-8")

    plain = cli_input("demo", "load", "--from", str(tmp_path), env={"SHELFBRIDGE_DEMO_MODE": "0"})
    assert plain.exit_code == 0, plain.output
    assert "No demo accounts were created" in plain.output
    assert _user(database, "demo-admin") is None

    demo = cli_input("demo", "load", "--from", str(tmp_path), env={"SHELFBRIDGE_DEMO_MODE": "1"})
    assert demo.exit_code == 0, demo.output
    assert "demo-gov: created" in demo.output
    assert _roles(database, "demo-tto-a") == [("ORG-e702c99732c2", "tto_officer")]

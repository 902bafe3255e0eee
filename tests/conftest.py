"""Shared fixtures: a real, freshly migrated database per test, on SQLite or PostgreSQL.

A template database is migrated and loaded with reference data once per run; each test gets
its own copy (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so tests
can commit like the application does and still never see each other's rows.
Set ``SHELFBRIDGE_TEST_DATABASE_URL`` to a PostgreSQL URL to run the suite there.

On PostgreSQL the URL's user (the owner, e.g. ``postgres``) builds the template and runs the
migrations, while the application under test (``database``, ``app``, ``client``, ``run_cli``)
connects as :data:`TEST_APP_ROLE`: a login member of ``shelfbridge_app`` that is neither
superuser nor owner, as in production, so that row-level security is in force in every test.
Tests that must get around the application's own database role (forging the audit trail)
use ``owner_database``.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shelfbridge.core.database import Database
from shelfbridge.core.settings import Settings

POSTGRES_URL = os.environ.get("SHELFBRIDGE_TEST_DATABASE_URL")
TEST_APP_ROLE = "shelfbridge_test_app"
_counter = itertools.count()

# Roles belong to the whole cluster; another test run may create this one at the same moment.
CREATE_TEST_APP_ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{TEST_APP_ROLE}') THEN
    CREATE ROLE {TEST_APP_ROLE} LOGIN IN ROLE shelfbridge_app;
  ELSIF NOT pg_has_role('{TEST_APP_ROLE}', 'shelfbridge_app', 'MEMBER') THEN
    GRANT shelfbridge_app TO {TEST_APP_ROLE};
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
"""


def app_url(owner_url: str) -> str:
    """The URL the application under test connects with (the same on SQLite)."""
    if not POSTGRES_URL:
        return owner_url
    return (
        make_url(owner_url)
        .set(username=TEST_APP_ROLE, password=None)
        .render_as_string(hide_password=False)
    )


def _admin_engine(url: str) -> Any:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _build(url: str) -> None:
    from shelfbridge.core.migrate import upgrade
    from shelfbridge.registry.reference import load_reference_data

    upgrade(url)
    database = Database(url)
    with database.unit_of_work() as session:
        load_reference_data(session)
    database.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if POSTGRES_URL:
        base = make_url(POSTGRES_URL)
        name = f"{base.database}_tpl_{uuid.uuid4().hex[:8]}"
        admin = _admin_engine(POSTGRES_URL)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        _build(url)  # creates the group role shelfbridge_app (migration 0004)
        with admin.connect() as conn:
            conn.execute(text(CREATE_TEST_APP_ROLE))
            super_, bypass = conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :name"),
                {"name": TEST_APP_ROLE},
            ).one()
        assert not (super_ or bypass), f"{TEST_APP_ROLE} must not be superuser or bypass RLS"
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        _build(url)
        yield url


@pytest.fixture
def db_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test, migrated and holding the reference data."""
    if POSTGRES_URL:
        base = make_url(template_db)
        name = f"{make_url(POSTGRES_URL).database}_t{os.getpid()}_{next(_counter)}"
        admin = _admin_engine(POSTGRES_URL)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        source = Path(make_url(template_db).database or "")
        target = tmp_path / "test.db"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """The application's database, reached as the application's role."""
    db = Database(app_url(db_url))
    yield db
    db.dispose()


@pytest.fixture
def owner_database(db_url: str) -> Iterator[Database]:
    """The same database reached as the owner of its tables: only for tests that play an
    attacker with the owner's rights (or check what the application's role cannot do)."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=app_url(db_url),
        migration_database_url=db_url,
        data_dir=tmp_path / "data",
        # A first match waits for the index build as long as a loaded machine may need (the
        # tests of the build itself, tests/matching/test_index_building.py, wait less).
        match_first_build_wait=120.0,
    )


@pytest.fixture
def app(settings: Settings, database: Database) -> Any:
    from shelfbridge.web.app import create_app

    return create_app(settings, database)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def run_cli(db_url: str) -> Any:
    """Run a shelfbridge command against this test's database; returns the click Result."""
    from typer.testing import CliRunner

    from shelfbridge.cli import app as cli_app

    runner = CliRunner()

    def invoke(*args: str, lang: str = "en", with_db: bool = True) -> Any:
        # As in production: commands reach the database as the application's role, and
        # migrations (init, demo load) as the owner.
        extra = ["--db", app_url(db_url)] if with_db else []
        env = {"SHELFBRIDGE_MIGRATION_DATABASE_URL": db_url} if with_db else {}
        # A command sets its language and actor for the whole process; a copied context keeps
        # them from leaking into the tests that run after it.
        return contextvars.copy_context().run(
            runner.invoke,
            cli_app,
            [*args, *extra, "--lang", lang],
            env=env,
            catch_exceptions=False,
        )

    return invoke


@pytest.fixture(autouse=True, scope="session")
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Commands that fall back to the settings' data directory (demo load, index rebuild) write
    under a folder of this run, never into the checkout's ``var/``. One folder for the session,
    so that the embedder's term cache is fitted once; each index records its database."""
    folder = tmp_path_factory.mktemp("data")
    previous = os.environ.get("SHELFBRIDGE_DATA_DIR")
    os.environ["SHELFBRIDGE_DATA_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("SHELFBRIDGE_DATA_DIR", None)
    else:
        os.environ["SHELFBRIDGE_DATA_DIR"] = previous


@pytest.fixture(autouse=True)
def act_as_system() -> Iterator[None]:
    """Direct service calls in tests act as the platform (as the CLI does); web requests set
    their own actor per request, so pages and the API are still tested as their callers."""
    from shelfbridge.accounts.actor import SYSTEM, current_actor

    token = current_actor.set(SYSTEM)
    yield
    current_actor.reset(token)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """argon2id with the smallest parameters: signing in costs microseconds instead of a fifth
    of a second. tests/accounts/test_passwords.py checks the production parameters."""
    from argon2 import PasswordHasher

    from shelfbridge.accounts import passwords

    previous = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    passwords.use_hasher(previous)

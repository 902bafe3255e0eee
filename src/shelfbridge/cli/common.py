"""Options and helpers every command shares."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from shelfbridge.accounts.actor import SYSTEM
from shelfbridge.accounts.actor import current_actor as accounts_actor
from shelfbridge.core.audit import current_actor
from shelfbridge.core.database import Database, is_sqlite
from shelfbridge.core.i18n import current_language, negotiate
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.settings import Settings

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: SHELFBRIDGE_DATABASE_URL, else the "
        "SQLite file in the data directory).",
        show_default=False,
    ),
]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language of messages: zh or en (default: SHELFBRIDGE_LANGUAGE, then LANG, then zh).",
        show_default=False,
    ),
]


def settings_for(db: str | None) -> Settings:
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    return settings


def open_database(db: str | None, lang: str | None = None) -> tuple[Settings, Database]:
    """The settings and database of one command; sets its language and audit actor."""
    settings = settings_for(db)
    env_language = os.environ.get("SHELFBRIDGE_LANGUAGE") or os.environ.get("LANG")
    language = negotiate(lang or env_language) if (lang or env_language) else "zh"
    current_language.set(language)
    current_actor.set(f"cli:{os.environ.get('USER') or os.environ.get('USERNAME') or 'unknown'}")
    # An operator at the command line acts as the platform itself.
    accounts_actor.set(SYSTEM)
    return settings, Database.from_settings(settings)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _database_name(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    name = parsed.database or ""
    if is_sqlite(url) and name and name != ":memory:":
        name = str(Path(name).resolve())
    return parsed.get_backend_name(), name


def migrate(settings: Settings, database: Database) -> dict[str, int]:
    """Create or upgrade the schema and load the reference data, as the owner of the tables
    (``SHELFBRIDGE_MIGRATION_DATABASE_URL``, else the database URL itself); returns how many
    reference rows each table holds. Refuses an owner URL that names another database."""
    from shelfbridge.core.migrate import upgrade
    from shelfbridge.registry.reference import load_reference_data

    owner_url = settings.resolved_migration_database_url()
    if _database_name(owner_url) != _database_name(database.url):
        raise fail(
            _(
                "SHELFBRIDGE_MIGRATION_DATABASE_URL names another database than the one "
                "to use ({name}): point both at the same database.",
                name=_database_name(database.url)[1],
            ),
            2,
        )
    upgrade(owner_url)
    owner = database if owner_url == database.url else Database(owner_url)
    try:
        with owner.unit_of_work() as session:
            return load_reference_data(session)
    finally:
        if owner is not database:
            owner.dispose()


def role_warnings(database: Database) -> list[str]:
    """What is wrong with the PostgreSQL role the application connects as: a superuser, a
    role that bypasses row-level security, or one with the rights of the tables' owner could
    switch the second wall off. Empty on SQLite and for a proper application role."""
    role = database.connection_role()
    if role is None or role.is_safe:
        return []
    advice = _(
        "Connect the application as a login role in the group shelfbridge_app (see the "
        "README) and keep the owner in SHELFBRIDGE_MIGRATION_DATABASE_URL."
    )
    if role.superuser:
        problem = _(
            "The application connects to PostgreSQL as {role}, a superuser: row-level "
            "security does not apply to it.",
            role=role.name,
        )
    elif role.bypasses_rls:
        problem = _(
            "The application connects to PostgreSQL as {role}, which bypasses row-level security.",
            role=role.name,
        )
    else:
        problem = _(
            "The application connects to PostgreSQL as {role}, which owns (or has the "
            "owner's rights on) {tables}: it could switch row-level security off.",
            role=role.name,
            tables=", ".join(role.owned_tables),
        )
    return [problem, advice]

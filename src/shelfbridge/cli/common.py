"""Options and helpers every command shares."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from shelfbridge.accounts.actor import SYSTEM
from shelfbridge.accounts.actor import current_actor as accounts_actor
from shelfbridge.core.audit import current_actor
from shelfbridge.core.database import Database
from shelfbridge.core.i18n import current_language, negotiate
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

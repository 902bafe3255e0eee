"""Assembly of the Typer app from each domain's commands."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from shelfbridge.cli import (
    audit_commands,
    data_commands,
    distribution_commands,
    fee_commands,
    feedback_commands,
    ip_commands,
    match_commands,
    rewards_commands,
    user_commands,
)
from shelfbridge.cli.common import DbOption, LangOption, migrate, open_database, role_warnings
from shelfbridge.core.i18n import gettext as _

app = typer.Typer(
    name="shelfbridge",
    help="Shelfbridge technology-transfer platform (科技成果转化平台).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(audit_commands.app, name="audit")
app.add_typer(data_commands.demo_app, name="demo")
app.add_typer(user_commands.app, name="user")
app.add_typer(rewards_commands.app, name="rewards")
rewards_commands.app.command("distribute")(distribution_commands.distribute_command)
app.add_typer(feedback_commands.app, name="feedback")
app.add_typer(fee_commands.app, name="fees")
data_commands.demo_app.command("accounts")(user_commands.demo_accounts)
app.command("import")(data_commands.import_command)
app.command("export")(data_commands.export_command)
app.add_typer(match_commands.index_app, name="index")
app.command("match")(match_commands.match_command)
app.command("deadlines")(ip_commands.deadlines_command)


@app.command()
def init(db: DbOption = None, lang: LangOption = None) -> None:
    """Create or upgrade the database schema and load the reference data (regions, codes).

    Migrations run as SHELFBRIDGE_MIGRATION_DATABASE_URL (the owner of the tables) when it is
    set. On PostgreSQL, warns when the application's own URL connects as a superuser or as
    a role with the owner's rights, which row-level security would not hold back.
    """
    settings, database = open_database(db, lang)
    try:
        counts = migrate(settings, database)
        shown = make_url(database.url).render_as_string(hide_password=True)
        typer.echo(_("Database ready: {url}", url=shown))
        for table, count in counts.items():
            typer.echo(f"  {table}: {count}")
        for line in role_warnings(database):
            typer.secho(line, err=True, fg=typer.colors.YELLOW)
    finally:
        database.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    db: DbOption = None,
) -> None:
    """Serve the web pages and the JSON API."""
    import os

    import uvicorn

    if db:
        os.environ["SHELFBRIDGE_DATABASE_URL"] = db
    uvicorn.run(
        "shelfbridge.web.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )

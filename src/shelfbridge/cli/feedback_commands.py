"""``shelfbridge feedback …``: the feedback given on matches, out to a file for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core.errors import BadRequest
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate
from shelfbridge.matching import feedback_service

app = typer.Typer(help="Feedback on matches.", no_args_is_help=True)


@app.command("export")
def export_command(
    file: Annotated[
        Path, typer.Argument(help="A .csv or .jsonl file to write.", show_default=False)
    ],
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Write every feedback row (who, for which organisation, when, the match by external ids,
    the verdict and the comment) to a CSV or JSONL file. Runs as the system: all tenants."""
    _settings, database = open_database(db, lang)
    try:
        with database.unit_of_work(write=False) as session:
            count = feedback_service.export_file(session, file)
    except BadRequest as error:
        raise fail(error.render(translate), 2) from None
    finally:
        database.dispose()
    typer.echo(_("{count} feedback rows written to {path}.", count=count, path=str(file)))

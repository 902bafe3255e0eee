"""``shelfbridge rewards distribute``: distribute every pending income record of a unit.

Runs as the system (every organisation), like the other commands, through the same service as
one request (``ip.distribution_batch``), one unit of work per chunk: a run that stops half way
keeps the chunks it committed, and running it again distributes the rest. Exit codes: 0 done,
1 some records could not be distributed (each is listed), 2 a usage error.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate
from shelfbridge.ip.distribution_batch import BatchReport, distribute_many, pending_income
from shelfbridge.registry.models import Organization

DEFAULT_CHUNK = 500


def distribute_command(
    org: Annotated[
        str, typer.Option("--org", help="The unit whose income to distribute (external ID).")
    ],
    chunk: Annotated[
        int,
        typer.Option("--chunk", min=1, max=10_000, help="Records per transaction."),
    ] = DEFAULT_CHUNK,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Distribute every income record of a unit that has no distribution yet: the same rules,
    rows and audit events as distributing them one by one, each record at most once."""
    settings, database = open_database(db, lang)
    try:
        with database.unit_of_work(write=False) as session:
            owner = session.scalars(
                select(Organization.id).where(Organization.external_id == org)
            ).first()
            if owner is None:
                raise fail(
                    _("No organisation has the external ID “{external_id}”.", external_id=org), 2
                )
            pending = pending_income(session, owner)
        report = BatchReport()
        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task(_("Distributing"), total=len(pending))
            for start in range(0, len(pending), chunk):
                part = pending[start : start + chunk]
                with database.unit_of_work() as session:
                    done = distribute_many(
                        session,
                        part,
                        second_approval_above=settings.reward_second_approval_above,
                    )
                report.extend(done)
                bar.advance(task, len(part))
        typer.echo(
            _(
                "Distributed {distributed} income records; skipped {skipped} already "
                "distributed; {failed} could not be distributed.",
                distributed=len(report.distributed),
                skipped=len(report.skipped),
                failed=len(report.failed),
            )
        )
        for income_id, error in report.failed:
            typer.echo(
                _(
                    "Income record {income_id}: {reason}",
                    income_id=income_id,
                    reason=error.render(translate),
                ),
                err=True,
            )
        if report.failed:
            raise typer.Exit(1)
    finally:
        database.dispose()

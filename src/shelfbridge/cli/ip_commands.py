"""``shelfbridge deadlines`` and ``shelfbridge ip report``, and the IP part of ``demo load``.

Each command opens one unit of work and calls the same services as the pages, as the system
(every organisation). Exit codes: 0 done, 1 refused, 2 a usage error.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core.database import Database
from shelfbridge.core.errors import ShelfbridgeError
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate
from shelfbridge.core.settings import Settings
from shelfbridge.registry.models import Organization


def load_ip_demo(settings: Settings, database: Database) -> None:
    """The IP demo (``ip/demo.py``): assets, deals, income and distributions; says what it
    created, or that it was there."""
    from shelfbridge.ip.demo import load_demo_ip

    try:
        with database.unit_of_work() as session:
            counts = load_demo_ip(
                session, second_approval_above=settings.reward_second_approval_above
            )
    except ShelfbridgeError as error:
        raise fail(error.render(translate)) from None
    if any(counts.values()):
        typer.echo(
            _(
                "IP demo loaded: {assets} assets, {deals} deals, {income} income records, "
                "{distributions} distributions.",
                **counts,
            )
        )
    else:
        typer.echo(_("IP demo already loaded."))


def deadlines_command(
    within: Annotated[
        str, typer.Option("--within", help="How far ahead: 90d, 12w, 6m (default 90d).")
    ] = "90d",
    start: Annotated[
        str | None,
        typer.Option("--from", help="First day, YYYY-MM-DD (default: today).", show_default=False),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", help="Only this organisation (external ID).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
    ics: Annotated[
        Path | None,
        typer.Option(
            "--ics", help="Also write them to this iCalendar (.ics) file.", show_default=False
        ),
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Upcoming IP deadlines of every organisation: annual fees, office actions, the Paris
    priority year, the PCT national phase and the reward due on grant."""
    from shelfbridge.ip import deadlines, ical

    _settings, database = open_database(db, lang)
    try:
        try:
            days = deadlines.parse_window(within)
            first = date.fromisoformat(start) if start else date.today()
        except ValueError:
            raise fail(_("--from takes a day as YYYY-MM-DD."), 2) from None
        except ShelfbridgeError as error:
            raise fail(error.render(translate), 2) from None
        with database.unit_of_work(write=False) as session:
            owner = None
            if org is not None:
                found = session.scalars(
                    select(Organization.id).where(Organization.external_id == org)
                ).first()
                if found is None:
                    raise fail(
                        _("No organisation has the external ID “{external_id}”.", external_id=org)
                    )
                owner = found
            upcoming = deadlines.upcoming(session, first, days, owner_org_id=owner)
        if ics is not None:
            ics.write_text(ical.calendar(upcoming), encoding="utf-8", newline="")
        if as_json:
            typer.echo(json.dumps([deadlines.as_dict(d) for d in upcoming], ensure_ascii=False))
            return
        _deadline_table(upcoming, first, days)
        if ics is not None:
            typer.echo(_("Written to {path}.", path=str(ics)))
    finally:
        database.dispose()


def _deadline_table(upcoming: list[Any], first: date, days: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from shelfbridge.ip import deadlines

    end = first + timedelta(days=days)
    table = Table(
        title=_("IP deadlines {start} – {end}", start=first.isoformat(), end=end.isoformat())
    )
    for column in (
        _("Due"),
        _("Deadline"),
        _("Organisation"),
        _("Asset"),
        _("Amount"),
        _("Source"),
    ):
        table.add_column(column)
    for item in upcoming:
        data = deadlines.as_dict(item)
        amount = f"¥{Decimal(data['amount']):,.2f}" if data["amount"] else ""
        if data["fee_label"]:
            amount = f"{data['fee_label']} {amount}"
            amount += f" [{_('unconfirmed')}]" if data["fee_unconfirmed"] else ""
        if data["full_amount"]:
            full = f"¥{Decimal(data['full_amount']):,.2f}"
            percent = data["reduction_percent"]
            reduced = _("(fee reduction {percent}% of {amount})", percent=percent, amount=full)
            amount = f"{amount} {reduced}"
        if data["late_fee"]:
            late = f"¥{Decimal(data['late_fee']):,.2f}"
            amount = f"{amount} + {_('late fee {amount}', amount=late)}"
        source = data["source"] + (f" [{_('unconfirmed')}]" if data["unconfirmed"] else "")
        if data["extended_from"]:
            source += " " + _("(extended from {day})", day=data["extended_from"])
        table.add_row(
            data["due_on"],
            data["summary"].split(": ")[0],
            data["owner_name"],
            f"{data['asset_external_id']} {data['asset_title']}",
            amount,
            source,
        )
    Console(width=160).print(table)
    if not upcoming:
        typer.echo(_("No deadlines in this period."))

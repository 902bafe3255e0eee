"""``shelfbridge fees pay``: record the annual fee of one patent year, as the system.

The same service as the API and the page (``ip/fees.py``), in one unit of work. Exit codes:
0 recorded, 1 refused (every problem printed), 2 a usage error."""

from __future__ import annotations

from typing import Annotated

import typer

from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core.errors import RuleViolation, ShelfbridgeError, ValidationFailed
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate

app = typer.Typer(help="Annual fees of patents.", no_args_is_help=True)


@app.command("pay")
def pay_command(
    asset_id: Annotated[int, typer.Argument(help="The asset's id.", min=1, max=2**31 - 1)],
    year: Annotated[int, typer.Option("--year", help="The patent year paid.", min=1, max=30)],
    amount: Annotated[str, typer.Option("--amount", help="Yuan paid, e.g. 900.00.")],
    on: Annotated[str, typer.Option("--on", help="The day it was paid, YYYY-MM-DD.")],
    late_fee: Annotated[
        str | None,
        typer.Option("--late-fee", help="Late fee paid (default: computed).", show_default=False),
    ] = None,
    restored: Annotated[
        bool, typer.Option("--restored", help="Paid after the grace period, once restored.")
    ] = False,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Receipt number.", show_default=False)
    ] = None,
    db: DbOption = None,
    lang: LangOption = None,
) -> None:
    """Record the annual fee of one patent year of an asset as paid."""
    from shelfbridge.ip import fees

    _settings, database = open_database(db, lang)
    raw = {
        "patent_year": year,
        "amount": amount,
        "paid_on": on,
        "late_fee": late_fee,
        "restored": restored,
        "reference": reference,
    }
    try:
        with database.unit_of_work() as session:
            found = fees.as_dict(fees.record_payment(session, asset_id, raw))
    except (ValidationFailed, RuleViolation) as refused:
        lines = [f"{p.field}: {p.render(translate)}" for p in refused.problems]
        raise fail("\n".join(lines)) from None
    except ShelfbridgeError as error:
        raise fail(error.render(translate)) from None
    finally:
        database.dispose()
    typer.echo(
        _(
            "Recorded: patent year {year} of asset {asset}, {amount} yuan and a late fee of "
            "{late_fee} yuan, paid on {day}.",
            year=found["patent_year"],
            asset=asset_id,
            amount=found["amount"],
            late_fee=found["late_fee"],
            day=found["paid_on"],
        )
    )

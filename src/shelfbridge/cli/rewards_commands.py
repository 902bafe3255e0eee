"""``shelfbridge rewards …``: the contributor-reward calculator (needs no database)."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shelfbridge.cli.common import LangOption
from shelfbridge.core.errors import BadRequest, ShelfbridgeError
from shelfbridge.core.i18n import N_, current_language, negotiate, translate
from shelfbridge.core.i18n import gettext as _
from shelfbridge.ip.calculator import Simulation, simulate
from shelfbridge.ip.rules import MODES, PATENT_TYPES, UNIT_TYPES, jurisdiction_name

app = typer.Typer(
    help="Contributor rewards under Chinese law: the what-if calculator, and distributing "
    "pending income in batches.",
    no_args_is_help=True,
)


def _set_language(lang: str | None) -> None:
    env_language = os.environ.get("SHELFBRIDGE_LANGUAGE") or os.environ.get("LANG")
    chosen = lang or env_language
    current_language.set(negotiate(chosen) if chosen else "zh")


def _required(value: str | None, option: str) -> str:
    if value is None or not value.strip():
        raise BadRequest(N_("The option {option} is required."), option=option)
    return value


def _day(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(
            N_("--date takes a day as YYYY-MM-DD, not “{value}”."), value=value
        ) from None


def _amount(value: object, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "shares":
        return _("{count} shares", count=value)
    return f"¥{Decimal(str(value)):,.2f}"


def _print_table(result: Simulation, console: Console) -> None:
    data = result.as_json()
    found = result.resolution
    title = _("Reward simulation")
    console.print(f"[bold]{title}[/bold]")
    facts = [
        (_("Jurisdiction"), jurisdiction_name(found.jurisdiction)),
        (_("Unit type"), translate(UNIT_TYPES[found.unit_type])),
        (_("Mode"), translate(MODES[found.mode])),
        (_("Date"), found.on.isoformat()),
    ]
    if found.patent_type:
        facts.append((_("Patent type"), translate(PATENT_TYPES[found.patent_type])))
    if found.mode != "grant":
        facts.append((_("Amount"), _amount(data["amount"], result.unit)))
        basis = (
            _("the unit's own policy, {percent}%", percent=data["percent"])
            if result.policy is not None
            else _("the statutory floor, {percent}%", percent=data["percent"])
        )
        facts.append((_("Basis"), basis))
    facts.append((_("Reward pool"), _amount(data["pool"], result.unit)))
    if data["pay_by"]:
        facts.append((_("Pay by"), data["pay_by"]))
    if data["main_contributors_minimum"] is not None:
        facts.append(
            (
                _("Main contributors at least"),
                _amount(data["main_contributors_minimum"], result.unit),
            )
        )
    colon = "：" if current_language.get() == "zh" else ": "
    for label, value in facts:
        console.print(f"{label}{colon}{value}", highlight=False)

    rules = Table(title=_("Rules"), show_lines=False)
    for column in (_("Measure"), _("Floor"), _("Force"), _("Applied"), _("Source")):
        rules.add_column(column)
    for entry in data["rules"]:
        applied = (
            _("yes") if entry["applied"] else _("overridden by {rule}", rule=entry["overridden_by"])
        )
        source = entry["source"]
        if entry["unconfirmed"]:
            source = f"{source} [yellow]⚠ {_('unconfirmed')}[/yellow]"
        rules.add_row(entry["measure_label"], entry["floor"], entry["force_label"], applied, source)
    console.print(rules)

    people = Table(title=_("Contributors"))
    people.add_column(_("Name"))
    people.add_column(_("Weight"), justify="right")
    people.add_column(_("Main contributor"))
    people.add_column(_("Amount"), justify="right")
    for person in data["contributors"]:
        people.add_row(
            person["name"],
            person["weight"],
            _("yes") if person["main"] else "",
            _amount(person["amount"], result.unit),
        )
    console.print(people)
    for warning in data["warnings"]:
        console.print(f"[yellow]⚠ {warning}[/yellow]", highlight=False)


@app.command("simulate")
def simulate_command(
    jurisdiction: Annotated[
        str | None,
        typer.Option(help="CN for the national rules, or a six-digit GB/T 2260 code (110000)."),
    ] = None,
    unit_type: Annotated[
        str | None, typer.Option("--unit-type", help="One of: " + ", ".join(UNIT_TYPES) + ".")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(help="transfer, licence, equity, self-use, or grant (reward on grant)."),
    ] = None,
    amount: Annotated[
        str | None,
        typer.Option(
            help="Net income in yuan (transfer, licence), the year's operating profit "
            "(self-use) or the number of shares formed (equity); not used with grant."
        ),
    ] = None,
    contributors: Annotated[
        str | None,
        typer.Option(help='"name:weight,…"; add :main to mark a main contributor.'),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option("--date", help="Day the rules are taken from, YYYY-MM-DD (default: today)."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="The unit's own percentage, checked against the floors that bind it "
            "(default: the statutory floor)."
        ),
    ] = None,
    patent_type: Annotated[
        str | None,
        typer.Option("--patent-type", help="invention, utility-model or design (mode grant)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    lang: LangOption = None,
) -> None:
    """Size the reward pool for a case under the rules in force and split it among the
    contributors (largest remainder, exact to the fen; share counts for equity)."""
    _set_language(lang)
    try:
        result = simulate(
            _required(jurisdiction, "--jurisdiction"),
            _required(unit_type, "--unit-type"),
            _required(mode, "--mode"),
            amount,
            _required(contributors, "--contributors"),
            _day(on),
            policy=policy,
            patent_type=patent_type,
        )
    except ShelfbridgeError as error:
        message = error.render(translate)
        if as_json:
            body: dict[str, Any] = {
                "error": error.type_slug,
                "title": translate(error.title),
                "messages": message.splitlines(),
            }
            typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        typer.secho(message, err=True, fg=typer.colors.RED)
        raise typer.Exit(2 if isinstance(error, BadRequest) else 1) from None
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    _print_table(result, Console())

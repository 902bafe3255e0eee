"""``shelfbridge import``, ``export`` and ``demo load`` (filled in by the importing module)."""

from __future__ import annotations

import typer

demo_app = typer.Typer(help="Demo data commands.", no_args_is_help=True)


def import_command() -> None:
    """Import records from a CSV, XLSX or JSONL file (all-or-nothing)."""
    raise typer.Exit(2)


def export_command() -> None:
    """Export records to a CSV, XLSX or JSONL file."""
    raise typer.Exit(2)

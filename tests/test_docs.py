"""Docs are part of done: every command, setting and README promise is written down."""

from __future__ import annotations

from pathlib import Path

import click
import typer

from shelfbridge.cli import app
from shelfbridge.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{path} "))
        else:
            found.append((path, command))
    return found


def test_every_cli_command_is_in_the_readme_and_has_help() -> None:
    commands = _commands(typer.main.get_command(app))  # type: ignore[arg-type]
    assert len(commands) >= 6
    for path, command in commands:
        assert f"shelfbridge {path}" in README, f"README lacks `shelfbridge {path}`"
        assert (command.help or "").strip(), f"`shelfbridge {path}` has no --help text"


def test_every_setting_is_in_the_readme() -> None:
    for name, field in Settings.model_fields.items():
        assert f"SHELFBRIDGE_{name.upper()}" in README, name
        assert field.description, f"setting {name} has no description"


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join(README.splitlines()[:8])
    assert "make demo" in head and "make test" in head


def test_ci_runs_the_readme_test_command_on_both_databases() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert script.count("make test") >= 2
    assert "SHELFBRIDGE_TEST_DATABASE_URL" in script

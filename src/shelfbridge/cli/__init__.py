"""The ``shelfbridge`` command line. Each command opens a unit of work and calls services."""

from __future__ import annotations

from shelfbridge.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]

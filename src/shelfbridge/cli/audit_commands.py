"""``shelfbridge audit …``: check the audit trail's hash chain."""

from __future__ import annotations

from typing import Annotated

import typer

from shelfbridge.cli.common import DbOption, LangOption, fail, open_database
from shelfbridge.core import audit
from shelfbridge.core.i18n import gettext as _
from shelfbridge.core.i18n import translate

app = typer.Typer(help="Audit trail commands.", no_args_is_help=True)


@app.command("verify")
def verify(
    db: DbOption = None,
    lang: LangOption = None,
    expect: Annotated[
        str | None,
        typer.Option(
            help="A head published earlier, as SEQ:HASH (from `audit head`); the chain must "
            "still end there."
        ),
    ] = None,
) -> None:
    """Walk the hash chain; exit 0 when intact, 1 naming the first bad sequence number."""
    _settings, database = open_database(db, lang)
    expected = None
    if expect:
        seq, _sep, digest = expect.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise fail(_("--expect takes SEQ:HASH, as printed by `shelfbridge audit head`."), 2)
        expected = (int(seq), digest)
    with database.unit_of_work(write=False) as session:
        report = audit.verify_chain(session, expected)
    if report.ok:
        typer.echo(
            _(
                "Audit chain intact: {count} events, head {seq}.",
                count=report.events_checked,
                seq=report.head_seq,
            )
        )
        return
    reason = translate(report.reason).format(seq=report.first_bad_seq) if report.reason else ""
    raise fail(
        _("Audit chain broken at sequence {seq}: {reason}", seq=report.first_bad_seq, reason=reason)
    )


@app.command("head")
def head(db: DbOption = None, lang: LangOption = None) -> None:
    """Print the chain's head as SEQ:HASH, to keep or publish outside the database."""
    _settings, database = open_database(db, lang)
    with database.unit_of_work(write=False) as session:
        seq, digest = audit.head(session)
    typer.echo(f"{seq}:{digest}")

"""The helper of a large import's check: ``python -m shelfbridge.registry.importing.worker``.

It reads pickles from standard input: its job (a dict), then ``("chunk", index, records)``
messages with raw records of the file, then ``("end",)``. It writes pickled messages to
standard output: ``("ready", None)`` once it can check, ``("progress", rows)`` after each
chunk, then ``("done", ShareResult)`` or ``("failed", traceback)``. Anything else the
process prints goes to standard error, so that the channel stays clean. The parent is
:class:`shelfbridge.registry.importing.checking._Helper`; a separate module (not ``checking``
itself) keeps ``python -m`` from importing the checking code twice.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from collections.abc import Iterator
from typing import IO, Any

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.database import Database
from shelfbridge.registry.importing.checking import check_stream, collector_paused


def _send(channel: IO[bytes], message: tuple[Any, ...]) -> None:
    pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
    channel.flush()


def _chunks(source: IO[bytes]) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """The chunks the parent sends, until it says that none are left."""
    while (message := pickle.load(source))[0] == "chunk":
        yield message[1], message[2]


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    try:
        source = sys.stdin.buffer
        job: dict[str, Any] = pickle.load(source)
        current_actor.set(job["actor"])  # row-level security reads it on PostgreSQL
        database = Database(job["url"])
        try:
            with collector_paused(), open(job["spool"], "wb") as spool:
                _send(channel, ("ready", None))
                result = check_stream(
                    database,
                    job["kind"],
                    job["maker"],
                    spool,
                    _chunks(source),
                    tick=lambda rows: _send(channel, ("progress", rows)),
                )
        finally:
            database.dispose()
        _send(channel, ("done", result))
    except BaseException:
        _send(channel, ("failed", traceback.format_exc()))
    finally:
        channel.close()


if __name__ == "__main__":
    main()

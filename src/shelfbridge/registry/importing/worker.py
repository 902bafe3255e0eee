"""A checker process of a large import: ``python -m shelfbridge.registry.importing.worker``.

It reads its job (a pickled dict) from standard input and writes pickled messages to
standard output: ``("progress", rows)`` after each chunk, then ``("done", ShareResult)`` or
``("failed", traceback)``. Anything else the process prints goes to standard error, so that
the channel stays clean. The parent is :func:`shelfbridge.registry.importing.checking.
run_shares`; a separate module (not ``checking`` itself) keeps ``python -m`` from importing the
checking code twice.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from pathlib import Path
from typing import IO, Any

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.database import Database
from shelfbridge.registry.importing.checking import check_share, collector_paused


def _send(channel: IO[bytes], message: tuple[Any, ...]) -> None:
    pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
    channel.flush()


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    try:
        job: dict[str, Any] = pickle.load(sys.stdin.buffer)
        current_actor.set(job["actor"])  # row-level security reads it on PostgreSQL
        database = Database(job["url"])
        try:
            with collector_paused(), open(job["spool"], "wb") as spool:
                result = check_share(
                    database,
                    job["kind"],
                    Path(job["path"]),
                    job["format"],
                    spool,
                    share=job["share"],
                    shares=job["shares"],
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

"""Controlled builds of the match index for the tests of building it: the test embedder with a
fit that waits until the test releases it (a clock the test moves: the build itself runs for
real), one whose first fit fails, and a second process that builds the same index with such a
fit and holds it open until it reads a line.

Run as ``python -m tests.matching.building_support DATABASE_URL DATA_DIR`` it is that second
process: it prints ``fitting`` once its build holds the lock and waits in the fit, then
``built`` when a line on its standard input let the build finish.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shelfbridge.core.database import Database
from shelfbridge.core.settings import Settings
from tests.matching.engine_support import NgramEmbedder, engine_settings

ROOT = Path(__file__).resolve().parents[2]
RELEASE_TIMEOUT = 60  # seconds a held fit waits at most (a test that forgot to release)


class HeldEmbedder(NgramEmbedder):
    """The test embedder, corpus-fitted: its fit reads every text and then waits for
    :attr:`released`. The build then stands at the end of its vocabulary phase: half of the
    whole work (the vocabulary phase weighs as much as the records it then indexes)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        self.fits = 0

    def fit(self, documents: Iterable[str]) -> None:
        for _text in documents:
            pass
        self.fits += 1
        self.entered.set()
        if not self.released.wait(RELEASE_TIMEOUT):
            raise TimeoutError("the test never released the build")


class FailingOnceEmbedder(NgramEmbedder):
    """The test embedder, corpus-fitted: its first fit fails, the next ones succeed."""

    def __init__(self) -> None:
        self.fits = 0

    def fit(self, documents: Iterable[str]) -> None:
        for _text in documents:
            pass
        self.fits += 1
        if self.fits == 1:
            raise RuntimeError("the teacher model could not be read")


def held_runtime(settings: Settings, database: Database, *, wait: float, embedder: Any) -> Any:
    """A match runtime on the test embedder (attached last: the app's routes use it) whose
    first match waits ``wait`` seconds for the build."""
    from shelfbridge.matching.service import attach_runtime

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    chosen = engine_settings(settings).model_copy(update={"match_first_build_wait": wait})
    return attach_runtime(chosen, database, embedder=embedder)


@contextmanager
def other_process_building(database: Database, settings: Settings) -> Iterator[Any]:
    """A second process that builds this database's index (same data directory) and stands
    in its fit until the block ends (or until ``release()`` is called on what it yields)."""
    log = settings.data_dir.parent / "other-process.log"
    with log.open("w", encoding="utf-8") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, database.url, str(settings.data_dir)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None and process.stdin is not None
        other = OtherProcess(process)
        try:
            line = process.stdout.readline().strip()
            assert line == "fitting", line + log.read_text(encoding="utf-8")
            yield other
        finally:
            other.release()
            process.wait(timeout=60)


class OtherProcess:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.released = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> str:
        """Let its build finish; what it printed then (``built``)."""
        if self.released:
            return ""
        self.released = True
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()


class _StdinHeld(NgramEmbedder):
    def fit(self, documents: Iterable[str]) -> None:
        for _text in documents:
            pass
        print("fitting", flush=True)
        sys.stdin.readline()


def _build_in_this_process(url: str, data_dir: str) -> None:
    from shelfbridge.matching.service import attach_runtime

    settings = engine_settings(Settings(database_url=url, data_dir=Path(data_dir)))
    database = Database(url)
    runtime = attach_runtime(settings, database, embedder=_StdinHeld())
    try:
        runtime.rebuild()
    finally:
        runtime.close()
        database.dispose()
    print("built", flush=True)


if __name__ == "__main__":
    _build_in_this_process(sys.argv[1], sys.argv[2])

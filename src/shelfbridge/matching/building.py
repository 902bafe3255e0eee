"""Who builds the match index when: one build at a time across processes, its state for
whoever asks, and the first build of a web process started in the background.

- **Every build** (:meth:`MatchRuntime.rebuild <shelfbridge.matching.runtime.MatchRuntime.
  rebuild>`: ``index rebuild``, ``demo load``, the ``match`` command, a web process's first
  build) holds the build lock and writes its progress file (:mod:`.build_files`); a second
  build waits for the first, in this process or another.
- **The state** (:meth:`BuildCoordinator.status`): ``ready`` when the manifest says every
  target is built with the configured embedder, ``failed`` when the progress file holds an
  error, ``building`` while someone holds the lock (the progress file says how far), else
  ``missing``. The status route, the pages, ``index info`` and a waiting CLI read it; asking
  never starts a build.
- **The first use from the web** (:meth:`BuildCoordinator.ensure`) starts the build on a
  daemon thread (one per process; none when another process already holds the lock) and waits
  up to ``match_first_build_wait`` seconds from the build's start: small corpora answer on the
  first request, a large one answers :class:`IndexBuilding` (503, ``Retry-After``) until it is
  built. A failed build answers :class:`IndexBuildFailed` for :data:`RETRY_FAILED_AFTER`
  seconds, then the next request tries again.
- **The CLI** builds in the foreground (:meth:`BuildCoordinator.build_missing`), with its
  progress bar, after waiting for a build of another process (and saying so).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shelfbridge.core.errors import ShelfbridgeError
from shelfbridge.core.i18n import N_, translate
from shelfbridge.matching.build_files import (
    BUILDING,
    FAILED,
    PROGRESS_NAME,
    START_PHASE,
    BuildCancelled,
    BuildLock,
    Progress,
    build_lock,
    iso,
    no_progress,
    read_json,
    recording,
)
from shelfbridge.matching.types import Target

if TYPE_CHECKING:
    from shelfbridge.matching.runtime import MatchRuntime, RebuildReport

logger = logging.getLogger(__name__)

FIT_PHASE = "vocabulary"  # the progress phase of fitting a corpus-fitted embedder
RETRY_FAILED_AFTER = 60.0  # seconds a failed build is reported before a request tries again
POLL = 0.1  # seconds between two looks at a build of another process
STOP_WAIT = 10.0  # seconds close() waits for a cancelled build to stop

READY, MISSING = "ready", "missing"
#: what each phase of a build is called on the pages
PHASES = {
    START_PHASE: N_("Counting the records"),
    FIT_PHASE: N_("Learning the vocabulary of the texts"),
    Target.RESULTS.value: N_("Indexing the results"),
    Target.DEMANDS.value: N_("Indexing the demands"),
    Target.PEOPLE.value: N_("Indexing the people"),
    Target.ORGANIZATIONS.value: N_("Indexing the organisations"),
}


# ---------------------------------------------------------------- the state of a build
@dataclass(frozen=True)
class BuildState:
    """Where the index stands: ``ready``, ``building`` (with its progress), ``failed`` (the
    last build raised) or ``missing`` (not built, no build running)."""

    state: str
    phase: str | None = None
    done: int = 0
    total: int = 0
    percent: int = 0
    started: float | None = None  # seconds since the epoch
    pid: int | None = None
    error: str | None = None
    retry_in: float = 0.0  # failed: seconds until a request tries again

    @property
    def started_at(self) -> str | None:
        return None if self.started is None else iso(self.started)

    @property
    def phase_label(self) -> str:
        return translate(PHASES.get(self.phase or START_PHASE, PHASES[START_PHASE]))

    def retry_after(self, now: float | None = None) -> int:
        """Seconds a client had better wait before it asks again."""
        if self.state == FAILED:
            return max(1, math.ceil(self.retry_in))
        now = time.time() if now is None else now
        if self.started is None or self.percent <= 0:
            return 5
        elapsed = max(0.0, now - self.started)
        remaining = elapsed * (100 - self.percent) / self.percent
        return int(min(60, max(2, math.ceil(remaining))))


class _NotBuiltYet(ShelfbridgeError):
    """The index cannot answer now (503) because of a build; ``Retry-After`` says when to ask
    again."""

    status = 503

    def __init__(self, state: BuildState, message: str, **values: Any) -> None:
        super().__init__(message, **values)
        self.state = state

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.state.retry_after())}


class IndexBuilding(_NotBuiltYet):
    """The match index is being built (in this process or another): ask again later."""

    type_slug = "index-building"
    title = N_("Match index being built")

    def __init__(self, state: BuildState) -> None:
        super().__init__(
            state,
            N_("The match index is being built ({percent}%); try again in a moment."),
            percent=state.percent,
        )

    @property
    def extensions(self) -> dict[str, Any]:
        """Members added to the problem document (RFC 9457 extensions)."""
        s = self.state
        return {"phase": s.phase, "done": s.done, "total": s.total, "percent": s.percent}


class IndexBuildFailed(_NotBuiltYet):
    """The last build of the match index failed; the next try comes after a pause."""

    type_slug = "index-build-failed"
    title = N_("Match index build failed")

    def __init__(self, state: BuildState) -> None:
        super().__init__(
            state,
            N_(
                "Building the match index failed; it will be tried again in {seconds} s. If "
                "this keeps happening, an administrator can run shelfbridge index rebuild to "
                "see why."
            ),
            seconds=state.retry_after(),
        )


# ---------------------------------------------------------------- builds of one runtime
class BuildCoordinator:
    """Builds of one runtime's index: the status, the first build of a web process in the
    background, and the build the CLI runs in the foreground."""

    def __init__(self, runtime: MatchRuntime) -> None:
        self.runtime = runtime
        self.retry_failed_after = RETRY_FAILED_AFTER
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_started = 0.0
        self._cancel = threading.Event()

    @property
    def lock(self) -> BuildLock:
        return build_lock(self.runtime.settings.data_dir)

    @property
    def progress_path(self) -> Path:
        return self.runtime.settings.data_dir / PROGRESS_NAME

    @property
    def running_here(self) -> bool:
        """Whether this runtime's background build is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def started_here(self) -> bool:
        """Whether this runtime ever started a background build."""
        return self._thread is not None

    def join(self, timeout: float | None = None) -> None:
        """Wait for this runtime's background build to end, if one runs."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ------------------------------------------------------------------ status
    def ready(self) -> bool:
        manifest = self.runtime.read_manifest()
        built = set(manifest.get("targets", {}))
        return built >= {t.value for t in Target} and (
            manifest.get("embedder") == self.runtime.embedder_name
        )

    def status(self) -> BuildState:
        if self.ready():
            return BuildState(READY, percent=100)
        progress = read_json(self.progress_path)
        if progress.get("state") == FAILED:
            finished = float(progress.get("finished") or 0.0)
            retry_in = max(0.0, finished + self.retry_failed_after - time.time())
            return _state(progress, FAILED, retry_in=retry_in)
        if self.lock.is_held():
            return _state(progress, BUILDING)
        if self.running_here:  # started, the lock not taken yet
            return BuildState(BUILDING, phase=START_PHASE, started=self._thread_started)
        return BuildState(MISSING)

    # ------------------------------------------------------------------ first use (web)
    def ensure(self, target: Target, wait: float) -> None:
        """Have ``target`` built: start the build in the background unless one runs (here or
        in another process) or the last one failed moments ago, and wait for it up to
        ``wait`` seconds from its start. Raises :class:`IndexBuilding` (still running) or
        :class:`IndexBuildFailed`."""
        target = Target(target)
        with self._mutex:
            if self._built(target):
                return
            state = self.status()
            if state.state == FAILED and state.retry_in > 0:
                raise IndexBuildFailed(state)
            if state.state != BUILDING:
                self._start(retried=state.state == FAILED)
                state = self.status()
        deadline = (state.started or time.time()) + wait
        while not self._built(target):
            state = self.status()
            if state.state == FAILED:
                raise IndexBuildFailed(state)
            if state.state == READY:
                return
            remaining = deadline - time.time()
            if remaining <= 0 or state.state == MISSING:
                raise IndexBuilding(state)
            thread = self._thread
            if thread is not None and thread.is_alive():
                thread.join(remaining)
            else:  # a build of another process (or of another runtime of this one)
                time.sleep(min(POLL, remaining))

    def _built(self, target: Target) -> bool:
        return target in self.runtime.built_targets()

    def _start(self, *, retried: bool) -> None:
        if retried:
            with contextlib.suppress(FileNotFoundError):
                self.progress_path.unlink()  # tried again: no longer reported as failed
        self._cancel.clear()
        self._thread_started = time.time()
        self._thread = threading.Thread(
            target=self._run, name="match-index-first-build", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        lock = self.lock
        try:
            if not lock.acquire(blocking=False):
                return  # another process builds it: its progress is shown
            try:
                report = self.build_missing(progress=self._unless_cancelled)
            finally:
                lock.release()
        except BuildCancelled:
            logger.info("The first build of the match index was cancelled.")
        except Exception:
            logger.exception(
                "The first build of the match index failed; the next match tries again in "
                "%.0f s (or run `shelfbridge index rebuild`).",
                self.retry_failed_after,
            )
        else:
            if report is not None:
                logger.info(
                    "The match index was built: %d records in %.1f s.",
                    report.total,
                    report.seconds,
                )

    def _unless_cancelled(self, phase: str, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise BuildCancelled()

    def stop(self, timeout: float = STOP_WAIT) -> None:
        """Cancel this runtime's background build and wait for it (closing the runtime)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._cancel.set()
        if thread is not threading.current_thread():
            thread.join(timeout)

    # ------------------------------------------------------------------ the CLI
    def hold(
        self, on_wait: Callable[[BuildState], None] | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """The build lock, as a context manager; ``on_wait`` hears of another build first."""
        tell = None if on_wait is None else (lambda: on_wait(self.status()))
        return self.lock.hold(on_wait=tell)

    def build_missing(
        self,
        *,
        progress: Progress | None = None,
        on_wait: Callable[[BuildState], None] | None = None,
    ) -> RebuildReport | None:
        """Build, here and now, every target the index lacks (fitting a corpus-fitted
        embedder when nothing is built yet). Waits for a build of another process first, and
        then builds only what that one did not; None when nothing was missing."""
        with self.hold(on_wait):
            built = self.runtime.built_targets()
            missing = [t for t in Target if t not in built]
            if not missing:
                return None
            return self.runtime.rebuild(missing, fit=not built, progress=progress or no_progress)


def _state(progress: dict[str, Any], state: str, *, retry_in: float = 0.0) -> BuildState:
    started = progress.get("started")
    pid = progress.get("pid")
    return BuildState(
        state,
        phase=str(progress.get("phase") or START_PHASE),
        done=int(progress.get("done") or 0),
        total=int(progress.get("total") or 0),
        percent=int(progress.get("percent") or 0),
        started=float(started) if isinstance(started, int | float) else None,
        pid=int(pid) if isinstance(pid, int) else None,
        error=str(progress["error"]) if progress.get("error") else None,
        retry_in=retry_in,
    )


__all__ = [
    "BUILDING",
    "FAILED",
    "MISSING",
    "READY",
    "BuildCancelled",
    "BuildCoordinator",
    "BuildLock",
    "BuildState",
    "IndexBuildFailed",
    "IndexBuilding",
    "recording",
]

"""The two files of a match index build under the data directory (:mod:`.building` decides
who builds when):

- ``match-build.lock``, taken with ``flock`` by every build, so that two builds never
  interleave, in one process or several; the kernel lets go of the lock of a process that
  dies. :class:`BuildLock` is reentrant per thread (one process taking ``flock`` twice through
  two open files would wait for itself) and tells whether anyone holds it.
- ``match-build.json``, the progress of the running build (phase, done, total, percent,
  the phases planned, started (seconds since the epoch), pid), replaced atomically
  (:func:`write_json`) at most every :data:`WRITE_EVERY` seconds within a phase and at the
  end of each; removed when the build ends well or is interrupted, left with the ``error``
  and the time it ``finished`` when it failed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

LOCK_NAME = "match-build.lock"
PROGRESS_NAME = "match-build.json"
WRITE_EVERY = 0.5  # seconds between two writes of the progress file within a phase
# seconds a taker keeps trying a lock that looks held (a probe holds it for microseconds)
PROBE_GRACE = 0.2
START_PHASE = "starting"  # before the records are counted
BUILDING, FAILED = "building", "failed"

Progress = Callable[[str, int, int], None]  # (phase, done, total)


def no_progress(phase: str, done: int, total: int) -> None:
    return None


def iso(seconds: float) -> str:
    """A time (seconds since the epoch) as UTC ISO 8601."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BuildCancelled(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a build from its progress callback to stop it (its runtime closes)."""


# ---------------------------------------------------------------- the lock
class BuildLock:
    """``flock`` on one file, held by one thread of this process at a time (reentrant)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._owner: int | None = None
        self._depth = 0
        self._handle: IO[bytes] | None = None

    def acquire(self, *, blocking: bool = True, on_wait: Callable[[], None] | None = None) -> bool:
        """Take the lock; ``on_wait`` is called once, before waiting for another holder.
        Without ``blocking``, answers False at once when someone else holds it."""
        me = threading.get_ident()
        told = False
        while True:
            with self._cond:
                if self._owner == me:
                    self._depth += 1
                    return True
                if self._owner is None:
                    self._owner = me  # this process's turn; now the other processes
                    break
                if not blocking:
                    return False
            if on_wait is not None and not told:
                told = True
                on_wait()
            with self._cond:
                while self._owner is not None:
                    self._cond.wait()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+b")  # noqa: SIM115 - held until release()
            try:
                if not _take_soon(handle.fileno()):
                    if not blocking:
                        handle.close()
                        self._let_go()
                        return False
                    if on_wait is not None and not told:
                        on_wait()
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except BaseException:
                handle.close()
                raise
        except BaseException:
            self._let_go()
            raise
        self._handle = handle
        self._depth = 1
        return True

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("the build lock is not held by this thread")
            self._depth -= 1
            if self._depth:
                return
            handle, self._handle = self._handle, None
            if handle is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                handle.close()
            self._owner = None
            self._cond.notify_all()

    def _let_go(self) -> None:
        with self._cond:
            self._owner = None
            self._cond.notify_all()

    @contextlib.contextmanager
    def hold(self, *, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        self.acquire(on_wait=on_wait)
        try:
            yield
        finally:
            self.release()

    def held_here(self) -> bool:
        """Whether this thread holds the lock."""
        with self._cond:
            return self._owner == threading.get_ident()

    def is_held(self) -> bool:
        """Whether a build holds the lock: a thread of this process, or another process (a
        shared ``flock`` tried without waiting: it meets only an exclusive holder)."""
        with self._cond:
            if self._owner is not None:
                return True
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    return True
                raise
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return False
            finally:
                os.close(fd)


def _take_soon(fd: int) -> bool:
    """Take the exclusive ``flock`` if it is free now or within :data:`PROBE_GRACE` seconds.

    Another process's :meth:`BuildLock.is_held` holds a shared lock for microseconds; a build
    holds it for seconds. Trying a few times tells the two apart, so a probe never makes a web
    process skip its build or a CLI announce a wait for nothing."""
    deadline = time.monotonic() + PROBE_GRACE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(PROBE_GRACE / 20)


_LOCKS: dict[Path, BuildLock] = {}
_LOCKS_GUARD = threading.Lock()


def build_lock(data_dir: Path) -> BuildLock:
    """The one build lock of a data directory in this process."""
    path = (Path(data_dir) / LOCK_NAME).resolve()
    with _LOCKS_GUARD:
        found = _LOCKS.get(path)
        if found is None:
            found = _LOCKS[path] = BuildLock(path)
        return found


# ---------------------------------------------------------------- the progress file
def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file; empty when the file is missing, unreadable or not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any], *, indent: int | None = None) -> None:
    """Replace ``path`` with ``data`` at once: readers see the old file or the new one (the
    temporary file is this thread's own, so two writers never mix their halves)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
    os.replace(temporary, path)


def overall_percent(plan: Sequence[tuple[str, int]], phase: str, done: int, total: int) -> int:
    """How far the whole build is, from the phases it plans (each weighed by its records)
    and where the current one stands; at most 99 until it is done."""
    weights = dict(plan)
    whole = sum(weights.values())
    if phase not in weights or whole <= 0:
        return min(99, 100 * done // total) if total > 0 else 0
    before = 0
    for name, weight in plan:
        if name == phase:
            break
        before += weight
    return min(99, 100 * (before + min(done, weights[phase])) // whole)


class BuildRecord:
    """The progress file of one build, written from its ``progress`` callback."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = time.time()
        self.plan: list[tuple[str, int]] = []
        self._phase: str | None = None
        self._last = (START_PHASE, 0, 0)  # the latest progress heard, written or not
        self._written = 0.0
        self._write(*self._last)

    def set_plan(self, plan: Sequence[tuple[str, int]]) -> None:
        self.plan = [(str(name), int(count)) for name, count in plan]

    def tee(self, progress: Progress) -> Progress:
        """A callback that reports to ``progress`` and to this file."""

        def both(phase: str, done: int, total: int) -> None:
            progress(phase, done, total)
            self(phase, done, total)

        return both

    def __call__(self, phase: str, done: int, total: int) -> None:
        self._last = (phase, done, total)
        now = time.monotonic()
        if phase == self._phase and done < total and now - self._written < WRITE_EVERY:
            return
        self._phase = phase
        self._written = now
        self._write(phase, done, total)

    def _write(self, phase: str, done: int, total: int, **extra: Any) -> None:
        data = {
            "state": BUILDING,
            "phase": phase,
            "done": done,
            "total": total,
            "percent": overall_percent(self.plan, phase, done, total),
            "phases": self.plan,
            "started": self.started,
            "pid": os.getpid(),
            **extra,
        }
        try:
            write_json(self.path, data)
        except OSError:  # the build goes on; only its progress is not shown
            logger.warning("The progress of the match index build could not be written.")

    def finished(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def failed(self, error: BaseException) -> None:
        self._write(
            *self._last,
            state=FAILED,
            error=f"{type(error).__name__}: {error}"[:500],
            finished=time.time(),
        )


@contextlib.contextmanager
def recording(path: Path) -> Iterator[BuildRecord]:
    """Record a build's progress; on the way out remove the file (done, or cancelled) or
    leave the error in it (failed)."""
    record = BuildRecord(path)
    try:
        yield record
    except Exception as error:
        if not isinstance(error, BuildCancelled):
            record.failed(error)
        else:
            record.finished()
        raise
    except BaseException:  # interrupted (Ctrl-C, exit): not a failure to report
        record.finished()
        raise
    record.finished()

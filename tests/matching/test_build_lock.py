"""The build lock of the match index (matching/build_files.py) against the other holders it
meets: a build of another process (an exclusive ``flock`` on another open file) and another
process's look at whether a build runs (a shared ``flock`` held for an instant)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shelfbridge.matching.build_files import LOCK_NAME, BuildLock


@contextmanager
def held_elsewhere(path: Path, kind: int) -> Iterator[None]:
    """``flock`` taken through a file of its own, as another process would."""
    path.touch()
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, kind)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def test_a_build_elsewhere_holds_the_lock(tmp_path: Path) -> None:
    lock = BuildLock(tmp_path / LOCK_NAME)
    with held_elsewhere(lock.path, fcntl.LOCK_EX):
        assert lock.is_held()
        assert lock.acquire(blocking=False) is False
    assert not lock.is_held()
    assert lock.acquire(blocking=False) is True
    lock.release()


def test_a_look_from_another_process_does_not_make_a_taker_give_up(tmp_path: Path) -> None:
    lock = BuildLock(tmp_path / LOCK_NAME)
    looking, done = threading.Event(), threading.Event()

    def look() -> None:  # what is_held() does in another process, held a little longer
        with held_elsewhere(lock.path, fcntl.LOCK_SH):
            looking.set()
            done.wait(0.02)

    thread = threading.Thread(target=look)
    thread.start()
    assert looking.wait(5)
    try:
        assert lock.acquire(blocking=False) is True  # it retried past the look
        lock.release()
    finally:
        done.set()
        thread.join()

"""Buffered reads are written on the marks of the wall clock, never later than FLUSH_AFTER
after the oldest arrived, so that the workers of a server write (and start their remembered
lists afresh) together."""

from __future__ import annotations

import time

import pytest

from shelfbridge.accounts import security


@pytest.mark.parametrize("wall", [1000.0, 1000.5, 1001.999, 1002.0])
def test_buffered_reads_wait_until_the_next_mark_and_never_longer_than_flush_after(
    monkeypatch: pytest.MonkeyPatch, wall: float
) -> None:
    monkeypatch.setattr(time, "time", lambda: wall)
    monkeypatch.setattr(security._FLUSHER, "wake", lambda: None)  # no thread in this test
    writer = security._EventWriter(engine=None)  # type: ignore[arg-type]  # never written
    writer.add([{"action": "read"}])
    due = writer.due(time.monotonic())
    assert due is not None
    waited = due - writer.oldest
    # monotonic readings are large floats: the difference carries rounding of ~1e-12 s
    assert 0 < waited <= security.FLUSH_AFTER + 1e-6
    landing = (wall + waited) / security.FLUSH_AFTER
    assert landing == pytest.approx(round(landing), abs=1e-6)  # on a mark


def test_processes_that_start_buffering_at_different_times_write_at_the_same_mark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(security._FLUSHER, "wake", lambda: None)
    marks = []
    for wall in (2000.1, 2001.7):
        monkeypatch.setattr(time, "time", lambda wall=wall: wall)
        writer = security._EventWriter(engine=None)  # type: ignore[arg-type]
        writer.add([{"action": "read"}])
        assert writer.due(time.monotonic()) is not None
        marks.append(round(wall + (writer.deadline - writer.oldest), 6))
    assert marks == [2002.0, 2002.0]

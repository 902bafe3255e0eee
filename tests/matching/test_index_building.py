"""The first build of the match index never holds a web request: a quick build still answers
the first request; a long one answers 503 with Retry-After and its progress until it is done;
one build at a time across processes; a failed build is reported, then tried again; writes
made during a build are in the index after it; the CLI waits for another process's build.

Real database, real embedded index, the real runtime and its build thread; the builds are
held open by the test embedder's fit waiting on an event (tests/matching/building_support.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.core.settings import Settings
from shelfbridge.matching import build_files
from shelfbridge.matching.types import Target
from tests import factories
from tests.conftest import app_url
from tests.matching.building_support import (
    ROOT,
    FailingOnceEmbedder,
    HeldEmbedder,
    held_runtime,
    other_process_building,
)
from tests.matching.engine_support import TEST_EMBEDDER, NgramEmbedder, Tenants, build_tenants

QUERY = {"q": "锂电池正极材料"}
STATUS = "/api/v1/match/index-status"
DEFAULT_WAIT = Settings.model_fields["match_first_build_wait"].default


@pytest.fixture
def world(app: Any, database: Any) -> Tenants:
    return build_tenants(database)


@pytest.fixture
def api(app: Any, world: Tenants) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@dataclass
class Held:
    runtime: Any
    embedder: HeldEmbedder


@pytest.fixture
def held(settings: Settings, database: Any, app: Any) -> Iterator[Held]:
    """A runtime whose first build stands in its fit until ``held.embedder.released`` is set;
    its first match waits only a moment for it."""
    embedder = HeldEmbedder()
    runtime = held_runtime(settings, database, wait=0.3, embedder=embedder)
    yield Held(runtime, embedder)
    embedder.released.set()
    runtime.close()


def _hits(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [hit["external_id"] for hit in response.json()["hits"]]


def _building(response: Any) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    body: dict[str, Any] = response.json()
    assert body["type"] == "https://shelfbridge.org/problems/index-building"
    return body


def test_the_first_match_on_an_unbuilt_index_answers_when_the_build_is_quick(
    settings: Settings, database: Any, api: TestClient, world: Tenants
) -> None:
    runtime = held_runtime(settings, database, wait=DEFAULT_WAIT, embedder=NgramEmbedder())
    try:
        assert api.get(STATUS).json()["state"] == "missing"
        hits = _hits(api.get("/api/v1/match", params=QUERY))
        assert hits[0] == world.external["result_public"]
        assert runtime.building.started_here  # built in the background, waited for
        assert api.get(STATUS).json() == {
            "state": "ready",
            "phase": None,
            "done": 0,
            "total": 0,
            "percent": 100,
            "started_at": None,
        }
        assert not (settings.data_dir / build_files.PROGRESS_NAME).exists()
    finally:
        runtime.close()


def test_a_held_build_answers_503_with_its_progress_and_then_the_same_request_answers_hits(
    held: Held, api: TestClient, world: Tenants
) -> None:
    embedder = held.embedder
    first = _building(api.get("/api/v1/match", params=QUERY))
    assert set(first) == {"type", "title", "status", "detail", "instance"} | {
        "phase",
        "done",
        "total",
        "percent",
    }
    assert first["status"] == 503 and first["instance"] == "/api/v1/match"
    assert embedder.entered.wait(30)

    status = api.get(STATUS)
    assert status.headers["cache-control"] == "no-store"
    body = status.json()
    assert body["state"] == "building"
    assert body["phase"] == "vocabulary" and body["done"] == body["total"] > 0
    assert body["percent"] == 50  # the vocabulary read, the records not yet indexed
    assert body["started_at"].endswith("Z")
    progress = json.loads(held.runtime.building.progress_path.read_text())
    assert progress["pid"] == os.getpid() and progress["phase"] == "vocabulary"
    info = held.runtime.info()["build"]  # what `shelfbridge index info` prints
    assert info["state"] == "building" and info["percent"] == 50

    again = _building(api.get("/api/v1/match", params=QUERY))  # at once: no second build
    assert again["percent"] == 50 and again["phase"] == "vocabulary"
    assert again["detail"] == "正在建立匹配索引（50%），请稍后再试。"  # zh, the default
    english = _building(api.get("/api/v1/match", params={**QUERY, "lang": "en"}))
    assert english["detail"] == "The match index is being built (50%); try again in a moment."
    demand = _building(api.get(f"/api/v1/demands/{world.records['demand_public']}/matches"))
    assert demand["percent"] == 50

    embedder.released.set()
    held.runtime.building.join(30)
    assert _hits(api.get("/api/v1/match", params=QUERY))[0] == world.external["result_public"]
    assert api.get(STATUS).json()["state"] == "ready"
    assert embedder.fits == 1  # one build, however many requests asked
    assert not held.runtime.building.progress_path.exists()


def test_the_match_pages_show_the_build_progress_and_reload_when_it_is_ready(
    held: Held, api: TestClient, world: Tenants
) -> None:
    embedder = held.embedder
    api.get("/match", params=QUERY)  # starts the build
    assert embedder.entered.wait(30)

    page = api.get("/match", params=QUERY)
    assert page.status_code == 200
    assert '<progress max="100" value="50"' in page.text
    assert 'hx-get="/match/index-status" hx-trigger="every 2s"' in page.text
    assert "正在建立匹配索引" in page.text and "正在学习文本的词汇" in page.text
    english = api.get("/match", params={**QUERY, "lang": "en"})
    assert "Building the match index" in english.text
    assert "Learning the vocabulary of the texts" in english.text
    sections = api.get(f"/demands/{world.records['demand_public']}/matches")
    assert '<progress max="100" value="50"' in sections.text

    poll = api.get("/match/index-status", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and 'value="50"' in poll.text
    assert "HX-Refresh" not in poll.headers

    embedder.released.set()
    held.runtime.building.join(30)
    ready = api.get("/match/index-status", headers={"HX-Request": "true"})
    assert ready.headers["HX-Refresh"] == "true" and ready.text == ""
    results = api.get("/match", params=QUERY)
    assert "index-building" not in results.text
    assert f'data-id="{world.records["result_public"]}"' in results.text


def test_a_build_in_another_process_is_reported_and_not_started_again_here(
    held: Held, api: TestClient, world: Tenants, database: Any
) -> None:
    embedder = held.embedder
    with other_process_building(database, held.runtime.settings) as other:
        body = _building(api.get("/api/v1/match", params=QUERY))
        assert body["phase"] == "vocabulary" and body["percent"] == 50
        assert api.get(STATUS).json()["state"] == "building"
        assert held.runtime.building.status().pid == other.pid
        assert not held.runtime.building.started_here  # no build of its own
        assert other.release() == "built"
    assert _hits(api.get("/api/v1/match", params=QUERY))[0] == world.external["result_public"]
    assert not held.runtime.building.started_here and embedder.fits == 0  # the other one built it


def test_a_failed_build_is_reported_then_tried_again_after_a_pause(
    settings: Settings, database: Any, api: TestClient, world: Tenants
) -> None:
    embedder = FailingOnceEmbedder()
    runtime = held_runtime(settings, database, wait=DEFAULT_WAIT, embedder=embedder)
    try:
        failed = api.get("/api/v1/match", params=QUERY)
        assert failed.status_code == 503, failed.text
        assert failed.json()["type"] == "https://shelfbridge.org/problems/index-build-failed"
        assert 55 <= int(failed.headers["retry-after"]) <= 60
        status = api.get(STATUS).json()
        assert status["state"] == "failed"
        progress = json.loads((settings.data_dir / build_files.PROGRESS_NAME).read_text())
        assert progress["error"] == "RuntimeError: the teacher model could not be read"
        assert runtime.info()["build"]["state"] == "failed"

        again = api.get("/api/v1/match", params=QUERY)  # within the pause: no new build
        assert again.json()["type"].endswith("/index-build-failed")
        assert embedder.fits == 1
        page = api.get("/match", params=QUERY)
        assert "建立匹配索引失败" in page.text

        runtime.building.retry_failed_after = 0  # the pause is over
        hits = _hits(api.get("/api/v1/match", params=QUERY))
        assert hits[0] == world.external["result_public"]
        assert embedder.fits == 2
        assert api.get(STATUS).json()["state"] == "ready"
    finally:
        runtime.close()


def test_records_written_during_a_build_are_in_the_index_after_it(
    settings: Settings, database: Any, api: TestClient, world: Tenants
) -> None:
    runtime = held_runtime(settings, database, wait=DEFAULT_WAIT, embedder=NgramEmbedder())
    reached, go = threading.Event(), threading.Event()

    def hold_before_organisations(phase: str, done: int, total: int) -> None:
        if phase == Target.ORGANIZATIONS.value and done == 0:  # results are indexed by now
            reached.set()
            assert go.wait(30)

    build = threading.Thread(target=runtime.rebuild, kwargs={"progress": hold_before_organisations})
    try:
        build.start()
        assert reached.wait(30)
        with database.unit_of_work() as session:  # the sync skips it: nothing is built yet
            late = factories.result(
                session, owner=world.ext["b"], title="钒液流储能电池双极板", keywords=["钒液流"]
            )
            late_id = late.external_id
        go.set()
        build.join(30)
        hits = _hits(api.get("/api/v1/match", params={"q": "钒液流储能电池双极板"}))
        assert hits[0] == late_id
    finally:
        go.set()
        runtime.close()


def test_the_match_command_waits_for_a_build_of_another_process(
    held: Held, api: TestClient, world: Tenants, db_url: str, database: Any
) -> None:
    embedder = held.embedder
    _building(api.get("/api/v1/match", params=QUERY))  # this process builds, held
    assert embedder.entered.wait(30)
    manifest = held.runtime.manifest_path
    code = (
        "import sys, tests.matching.engine_support; from shelfbridge.cli import app; "
        "sys.argv[0] = 'shelfbridge'; app()"
    )
    env = {
        **os.environ,
        "SHELFBRIDGE_DATA_DIR": str(held.runtime.settings.data_dir),
        "SHELFBRIDGE_MATCH_EMBEDDER": TEST_EMBEDDER,
        "SHELFBRIDGE_MIGRATION_DATABASE_URL": db_url,
    }
    command = [sys.executable, "-c", code, "match", QUERY["q"], "--json"]
    command += ["--db", app_url(db_url), "--lang", "en"]
    cli = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert cli.stderr is not None
        said = ""
        for said in iter(cli.stderr.readline, ""):  # the first lines may be warnings
            if "Another" in said:
                break
        assert f"Another process (pid {os.getpid()}) is building the match index (50%)" in said
        assert "waiting for it to finish" in said
        assert cli.poll() is None  # it waits
        embedder.released.set()
        out, rest = cli.communicate(timeout=60)
    finally:
        embedder.released.set()
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, rest
    hits = json.loads(out)["hits"]
    assert hits[0]["external_id"] == world.external["result_public"]
    assert "Built the match index" not in rest  # the other build did it
    assert json.loads(manifest.read_text())["embedder"] == TEST_EMBEDDER
    assert embedder.fits == 1


def test_shutting_down_cancels_a_first_build_and_leaves_no_progress_behind(
    held: Held, app: Any, world: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shelfbridge.web import app as web_app

    monkeypatch.setattr(web_app, "SHUTDOWN_WAIT", 0.1)
    embedder = held.embedder
    with TestClient(app) as client:
        _building(client.get("/api/v1/match", params=QUERY))
        assert embedder.entered.wait(30)
    # The server stopped: the build ends at its next step, the lock and progress file go.
    embedder.released.set()
    held.runtime.building.join(30)
    assert not held.runtime.building.running_here
    assert held.runtime.building.status().state == "missing"
    assert not held.runtime.building.progress_path.exists()
    assert not held.runtime.building.lock.is_held()

"""How a query's English words were read: the API (``read_as``), the CLI (text and JSON, single
and batch) and the search page name the Chinese corpus word each English word was searched
as, so that a user can see why "separator" found records about 隔膜 (or why it did not).

The embedder is the test n-gram embedder with a small term bridge (a multilingual term model in
miniature); the index, runtime, service and pages are the real ones."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shelfbridge.core.database import Database
from shelfbridge.core.settings import Settings
from shelfbridge.matching.embedders.base import register_embedder
from shelfbridge.matching.service import attach_runtime
from tests.matching.engine_support import (
    NgramEmbedder,
    Tenants,
    build_tenants,
    cli_invoker,
    engine_settings,
)

BRIDGE_EMBEDDER = "test-ngrams-bridge"


class BridgingNgramEmbedder(NgramEmbedder):
    """The test embedder, which also names the Chinese word an English word is read as."""

    name = BRIDGE_EMBEDDER
    WORDS = {"separator": "隔膜", "battery": "电池"}

    def bridge_terms(self, words: Sequence[str]) -> list[str | None]:
        return [self.WORDS.get(w) for w in words]


register_embedder(BRIDGE_EMBEDDER, BridgingNgramEmbedder)


def _settings(settings: Settings) -> Settings:
    return engine_settings(settings).model_copy(update={"match_embedder": BRIDGE_EMBEDDER})


@pytest.fixture
def world(app: Any, database: Database, settings: Settings) -> Iterator[Tenants]:
    """Two tenants' records, and the bridging engine attached after the app (so that the
    pages and the API use it)."""
    built = build_tenants(database)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = attach_runtime(_settings(settings), database, embedder=BridgingNgramEmbedder())
    runtime.rebuild()
    yield built
    runtime.close()


def test_the_api_says_how_the_english_words_were_read(app: Any, world: Tenants) -> None:
    api = TestClient(app)
    english = api.get("/api/v1/match", params={"q": "battery separator for cars"})
    assert english.status_code == 200, english.text
    assert english.json()["read_as"] == [
        {"word": "battery", "read_as": "电池"},
        {"word": "separator", "read_as": "隔膜"},
    ]  # "cars" has no Chinese word in the bridge: searched as typed only
    mixed = api.get("/api/v1/match", params={"q": "锂电池 separator"}).json()
    assert mixed["read_as"] == [{"word": "separator", "read_as": "隔膜"}]
    # a capital marks a name or an acronym; a query in Chinese alone has nothing to read
    assert api.get("/api/v1/match", params={"q": "锂电池 Separator"}).json()["read_as"] == []
    assert api.get("/api/v1/match", params={"q": "锂电池正极材料"}).json()["read_as"] == []
    # a record's matches read no query
    record = world.records["result_public"]
    assert api.get(f"/api/v1/results/{record}/matches").json()["read_as"] == []


def test_the_search_page_shows_how_the_english_words_were_read(app: Any, world: Tenants) -> None:
    client = TestClient(app)
    page = client.get("/match", params={"q": "锂电池 separator"})
    assert page.status_code == 200, page.text
    assert "英文词按语料中最接近的中文词检索：" in page.text
    assert '<span lang="en">separator</span> → <mark lang="zh">隔膜</mark>' in page.text
    english = client.get("/match", params={"q": "锂电池 separator", "lang": "en"})
    assert "English words read as:" in english.text
    plain = client.get("/match", params={"q": "锂电池"})
    assert 'class="read-as"' not in plain.text


@pytest.fixture
def cli(db_url: str, tmp_path: Path, world: Tenants) -> Any:
    return cli_invoker(db_url, tmp_path / "cli-data", BRIDGE_EMBEDDER)


def test_the_cli_says_how_the_english_words_were_read(cli: Any) -> None:
    text = cli("match", "锂电池 separator", lang="zh")
    assert text.exit_code == 0, text.output
    assert "英文词按语料中最接近的中文词检索：separator → 隔膜" in text.stdout
    assert "read as" not in cli("match", "锂电池").stdout  # nothing to say
    single = cli("match", "battery separator", "--json")
    assert json.loads(single.stdout)["read_as"] == [
        {"word": "battery", "read_as": "电池"},
        {"word": "separator", "read_as": "隔膜"},
    ]
    lines = '{"id": 1, "text": "锂电池 separator"}\n{"id": 2, "text": "锂电池"}\n'
    batch = cli("match", "--queries", "-", "--json", stdin=lines)
    assert batch.exit_code == 0, batch.output
    answers = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [a["read_as"] for a in answers] == [[{"word": "separator", "read_as": "隔膜"}], []]

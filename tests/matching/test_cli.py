"""``shelfbridge index rebuild|info`` and ``shelfbridge match``, single and batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.matching.engine_support import (
    CANARY,
    TEST_EMBEDDER,
    Tenants,
    build_tenants,
    cli_invoker,
)


@pytest.fixture
def world(database: Any) -> Tenants:
    return build_tenants(database)


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Any:
    """Run a command against this test's database, with its own data directory and the test
    embedder (the CLI builds its runtime from the environment, as in production)."""
    return cli_invoker(db_url, tmp_path / "data")


def test_rebuild_reports_records_per_second_and_info_shows_the_index(
    cli: Any, world: Tenants
) -> None:
    result = cli("index", "rebuild")
    assert result.exit_code == 0, result.output
    assert "records/s" in result.stdout
    assert "results: 3 records indexed." in result.stdout
    info = cli("index", "info", "--json")
    assert info.exit_code == 0, info.output
    data = json.loads(info.stdout)
    assert data["built"] is True and data["stale"] is False
    assert data["embedder"] == TEST_EMBEDDER
    assert data["targets"]["results"]["indexed"] == 3
    assert data["targets"]["demands"]["indexed"] == 2
    assert data["outdated"] is False
    plain = cli("index", "info", lang="zh")
    assert "results" in plain.stdout and "较早的版本" not in plain.stdout


def test_info_recommends_a_rebuild_of_an_index_of_an_earlier_format(
    cli: Any, world: Tenants, tmp_path: Path
) -> None:
    assert cli("index", "rebuild").exit_code == 0
    manifest_path = tmp_path / "data" / "match-manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["format"]  # as written before int8 vectors and densities
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    info = cli("index", "info", "--json")
    assert json.loads(info.stdout)["outdated"] is True
    assert "earlier version" in cli("index", "info").stdout
    assert "较早的版本" in cli("index", "info", lang="zh").stdout
    # the old index still serves
    found = cli("match", "锂电池正极材料", "--json", "--top", "1")
    assert found.exit_code == 0 and json.loads(found.stdout)["hits"]


def test_rebuild_of_one_target(cli: Any, world: Tenants) -> None:
    result = cli("index", "rebuild", "--target", "demands")
    assert result.exit_code == 0, result.output
    assert "demands: 2 records indexed." in result.stdout
    assert "results:" not in result.stdout
    assert cli("index", "rebuild", "--target", "nothing").exit_code == 2


def test_match_prints_hits_by_external_id(cli: Any, world: Tenants) -> None:
    result = cli("match", "锂电池正极材料", "--json", "--top", "2")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["target"] == "results"
    assert len(payload["hits"]) == 2
    assert payload["hits"][0]["external_id"] == world.external["result_public"]
    assert {"external_id", "score", "title", "explanation"} <= set(payload["hits"][0])
    text = cli("match", "锂电池正极材料", "--target", "demands")
    assert text.exit_code == 0, text.output
    assert world.external["demand_public"] in text.stdout


def test_match_as_a_user_sees_what_that_user_may_see(cli: Any, world: Tenants) -> None:
    outsider = cli("match", CANARY, "--json", "--as", "officer-b")
    assert outsider.exit_code == 0, outsider.output
    assert CANARY not in json.dumps(json.loads(outsider.stdout)["hits"], ensure_ascii=False)
    owner = cli("match", CANARY, "--json", "--as", "officer-a")
    assert world.external["result_internal"] in owner.stdout
    system = cli("match", CANARY, "--json")
    assert world.external["result_internal"] in system.stdout
    unknown = cli("match", CANARY, "--as", "nobody-at-all")
    assert unknown.exit_code == 1
    assert "nobody-at-all" in unknown.stderr


def test_batch_answers_every_line_after_loading_once(
    cli: Any, world: Tenants, tmp_path: Path
) -> None:
    lines = [
        {"id": "q1", "text": "锂电池正极材料"},
        {"id": 2, "text": "锂电池正极材料", "target": "demands", "top": 1},
        {"id": "q3", "text": "锂电池", "region": "110000"},
        {"id": "q4", "text": "锂电池", "cluster": "yangtze_river_delta", "trl_min": 4},
    ]
    path = tmp_path / "queries.jsonl"
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in lines), "utf-8")
    result = cli("match", "--queries", str(path), "--json")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["q1", 2, "q3", "q4"]
    assert answers[0]["hits"][0]["external_id"] == world.external["result_public"]
    assert [h["external_id"] for h in answers[1]["hits"]] == [world.external["demand_public"]]
    assert answers[2]["hits"] == []  # nothing of A's is in Beijing
    assert answers[3]["hits"][0]["external_id"] == world.external["result_public"]


def test_batch_reports_bad_lines_in_the_users_language(
    cli: Any, world: Tenants, tmp_path: Path
) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "good", "text": "锂电池"}),
                "{not json",
                json.dumps({"id": "empty", "text": ""}),
                json.dumps({"id": "odd", "text": "锂电池", "colour": "red"}),
                json.dumps({"id": "where", "text": "锂电池", "target": "planets"}),
                json.dumps({"id": "trl", "text": "锂电池", "trl_min": 12}),
                json.dumps([1, 2]),
            ]
        )
        + "\n",
        "utf-8",
    )
    result = cli("match", "--queries", str(path), "--json", lang="zh")
    assert result.exit_code == 1
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 7
    assert "hits" in answers[0]
    errors = {a["line"]: a["error"] for a in answers[1:]}
    assert set(errors) == {2, 3, 4, 5, 6, 7}
    assert "第 2 行" in errors[2] and "JSON" in errors[2]
    assert "colour" in errors[4]
    assert "planets" in errors[5]
    assert "TRL" in errors[6]
    for line, message in errors.items():
        assert message in result.stderr, line
    english = cli("match", "--queries", str(path), "--json")
    assert "Line 2: not valid JSON." in english.stderr


def test_match_needs_text_or_queries(cli: Any, world: Tenants, tmp_path: Path) -> None:
    assert cli("match").exit_code == 2
    assert cli("match", "x", "--queries", str(tmp_path / "q.jsonl"), "--json").exit_code == 2
    assert cli("match", "--queries", str(tmp_path / "missing.jsonl"), "--json").exit_code == 2
    assert cli("match", "--queries", str(tmp_path / "q.jsonl")).exit_code == 2
    bad = cli("match", "锂电池", "--trl-min", "12")
    assert bad.exit_code == 1
    assert "TRL" in bad.stderr

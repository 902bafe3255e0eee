"""Canary: unique strings planted in every confidential field of tenant A never appear in any
response body or header, nor in any export (``shelfbridge export --as``), seen by an actor not
entitled to them, and do appear for one who is (so these tests can fail)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.accounts.matrix_support import (
    World,
    api_headers,
    build_world,
    new_demand,
    new_result,
    sign_everyone_in,
    username,
)

NOT_ENTITLED = (
    "anonymous",
    "no_membership",
    "officer_b",
    "enterprise_e2",
    "investor",
    "government",
)
# Shares and money are not text: distinctive numbers stand in for the canary.
SHARES = ("61.37", "38.63")
BUDGETS = ("7319461.27", "7419461.27", "7519461.27", "7619461.27")


@dataclass
class Planted:
    canary: str
    world: World
    ids: dict[str, int]

    def needles(self) -> list[str]:
        money = [f"{float(b):,.2f}" for b in BUDGETS]  # as the pages format yuan
        return [self.canary, *SHARES, *BUDGETS, *money]


@pytest.fixture
def planted(app: Any, database: Any) -> Planted:
    world = build_world(database)
    canary = f"canary{uuid.uuid4().hex}"
    contributors = f"{canary}甲:{SHARES[0]};{canary}乙:{SHARES[1]}"
    with database.unit_of_work() as session:
        ids = {
            "result_internal": new_result(
                session,
                world,
                "internal",
                title=f"{canary} 内部成果",
                abstract=f"摘要 {canary}",
                keywords=[canary, "锂电池"],
                discipline=canary,
                contributors=contributors,
            ).id,
            "result_partners": new_result(
                session,
                world,
                "partners",
                title=f"{canary} 合作成果",
                abstract=canary,
                contributors=contributors,
            ).id,
            "result_public": new_result(
                session, world, "public", title="公开成果", contributors=contributors
            ).id,
            "demand_public": new_demand(
                session,
                world,
                "public",
                title="公开需求",
                budget_min=BUDGETS[0],
                budget_max=BUDGETS[1],
            ).id,
            "demand_internal": new_demand(
                session,
                world,
                "internal",
                title=f"{canary} 内部需求",
                description=f"描述 {canary}",
                budget_min=BUDGETS[2],
                budget_max=BUDGETS[3],
            ).id,
        }
    sign_everyone_in(app, world)
    return Planted(canary, world, ids)


def _get_paths(planted: Planted) -> list[str]:
    """Every GET route of pages and API, on every planted record, lists with and without
    filters and search."""
    world, canary = planted.world, planted.canary
    a, e1 = world.org_ids["a"], world.org_ids["e1"]
    paths = ["/", "/account", f"/organizations/options?q={canary}", "/api/v1/auth/me"]
    paths += [f"/organizations/{a}", f"/organizations/{e1}", f"/organizations/{a}/members"]
    paths += [f"/api/v1/organizations/{a}", f"/api/v1/organizations/{e1}"]
    filters = {
        "results": [f"q={canary}", f"owner_id={a}", "confidentiality=internal", "limit=200"],
        "demands": [f"q={canary}", f"enterprise_id={e1}", "confidentiality=internal"],
        "organizations": [f"q={canary}"],
        "people": [f"q={canary}", f"organization_id={a}"],
    }
    for kind, queries in filters.items():
        for base in (f"/{kind}", f"/api/v1/{kind}"):
            paths.append(base)
            paths += [f"{base}?{query}" for query in queries]
    for name, ident in planted.ids.items():
        kind = "results" if name.startswith("result") else "demands"
        paths += [
            f"/{kind}/{ident}",
            f"/{kind}/{ident}/edit",
            f"/{kind}/{ident}/delete",
            f"/api/v1/{kind}/{ident}",
        ]
    return paths


def _leaks(response: Any, needles: list[str]) -> list[str]:
    found = []
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for needle in needles:
        if needle in response.text:
            found.append(f"{needle} in body")
        if needle in headers:
            found.append(f"{needle} in headers")
    return found


def _search_leaks(planted: Planted, actor: str, path: str, response: Any) -> list[str]:
    """A search page echoes its own query: the canary leaks only if it shows up more often
    than a decoy query of the same shape does."""
    decoy = f"canary{uuid.uuid4().hex}"
    echo = _fetch(planted, actor, path.replace(planted.canary, decoy))
    if response.text.count(planted.canary) > echo.text.count(decoy):
        return [f"{planted.canary} in body (beyond the echoed query)"]
    return _leaks(response, [n for n in planted.needles() if n != planted.canary])


def _check(planted: Planted, actor: str, path: str) -> list[str]:
    response = _fetch(planted, actor, path)
    assert response.status_code < 500, (actor, path, response.status_code)
    if planted.canary in path:
        found = _search_leaks(planted, actor, path, response)
    else:
        found = _leaks(response, planted.needles())
    return [f"{actor} GET {path}: {leak}" for leak in found]


def _fetch(planted: Planted, actor: str, path: str) -> Any:
    if path.startswith("/api/"):
        client = TestClient(planted.world.pages["anonymous"].app)
        return client.get(path, headers=api_headers(planted.world, actor))
    return planted.world.pages[actor].get(path, follow_redirects=False)


def test_no_canary_reaches_an_actor_not_entitled_to_it(planted: Planted) -> None:
    leaks = []
    fetched = 0
    for actor in NOT_ENTITLED:
        for path in _get_paths(planted):
            if path.endswith("/edit"):
                continue  # see test_edit_forms_do_not_show_what_the_detail_page_hides
            fetched += 1
            leaks += _check(planted, actor, path)
    assert fetched > 250
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks)


def test_edit_forms_do_not_show_what_the_detail_page_hides(planted: Planted) -> None:
    leaks = []
    for actor in NOT_ENTITLED:
        for path in _get_paths(planted):
            if path.endswith("/edit"):
                leaks += _check(planted, actor, path)
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks)


def test_contributor_shares_and_budgets_stay_hidden_from_members_without_the_right(
    planted: Planted,
) -> None:
    """researcher_a reads A's internal records but not shares; enterprise_e1's demands' money
    is not for anyone outside E1."""
    world = planted.world
    leaks = []
    public = planted.ids["result_public"]
    for actor in ("researcher_a",):
        for path in (f"/results/{public}", f"/api/v1/results/{public}", f"/results/{public}/edit"):
            response = _fetch(planted, actor, path)
            leaks += [f"{actor} GET {path}: {x}" for x in _leaks(response, list(SHARES))]
    budgets = [*BUDGETS[:2], *(f"{float(b):,.2f}" for b in BUDGETS[:2])]
    demand = planted.ids["demand_public"]
    for actor in ("researcher_a", "officer_a", "admin_a"):
        for path in (f"/demands/{demand}", f"/api/v1/demands/{demand}", f"/demands/{demand}/edit"):
            response = _fetch(planted, actor, path)
            leaks += [f"{actor} GET {path}: {x}" for x in _leaks(response, budgets)]
    assert world.tokens
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks)


def test_the_canary_is_seen_by_those_entitled_to_it(planted: Planted) -> None:
    ids, canary = planted.ids, planted.canary
    checks = [
        ("officer_a", f"/api/v1/results/{ids['result_internal']}", canary),
        ("officer_a", f"/results/{ids['result_internal']}", canary),
        ("officer_a", f"/api/v1/results/{ids['result_public']}", SHARES[0]),
        ("researcher_a", f"/api/v1/results?q={canary}", canary),
        ("enterprise_e1", f"/api/v1/demands/{ids['demand_internal']}", canary),
        ("enterprise_e1", f"/api/v1/demands/{ids['demand_public']}", BUDGETS[0]),
        ("enterprise_e1", f"/demands/{ids['demand_public']}", f"{float(BUDGETS[0]):,.2f}"),
        ("platform_admin", f"/api/v1/results/{ids['result_internal']}", canary),
    ]
    missing = []
    for actor, path, needle in checks:
        response = _fetch(planted, actor, path)
        if response.status_code != 200 or needle not in response.text:
            missing.append(f"{actor} GET {path}: {response.status_code}, {needle} not shown")
    assert not missing, "\n".join(missing)


EXPORT_FORMATS = ("csv", "jsonl", "xlsx")


def _export(run_cli: Any, folder: Path, kind: str, fmt: str, actor: str | None) -> str:
    """What ``shelfbridge export`` writes, as ``actor`` (None: as the platform), as text."""
    path = folder / f"{kind}-{actor or 'system'}.{fmt}"
    who = ("--as", username(actor)) if actor else ()
    result = run_cli("export", kind, str(path), *who)
    assert result.exit_code == 0, result.output
    if fmt != "xlsx":
        return path.read_text(encoding="utf-8-sig")
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True).active
    assert sheet is not None
    return "\n".join(",".join(str(c) for c in row if c is not None) for row in sheet.values)


def test_no_canary_reaches_an_export_as_an_actor_not_entitled_to_it(
    planted: Planted, run_cli: Any, tmp_path: Path
) -> None:
    leaks = []
    exported = 0
    for actor in [a for a in NOT_ENTITLED if a != "anonymous"]:
        for kind in ("results", "demands", "organizations", "people"):
            for fmt in EXPORT_FORMATS:
                text = _export(run_cli, tmp_path, kind, fmt, actor)
                exported += 1
                leaks += [f"{actor} {kind}.{fmt}: {n}" for n in planted.needles() if n in text]
    assert exported == 5 * 4 * 3
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks)


def test_exports_leave_out_the_fields_hidden_from_members_without_the_right(
    planted: Planted, run_cli: Any, tmp_path: Path
) -> None:
    """researcher_a exports A's internal results, but no shares; A's officers export no
    budgets of E1's demands."""
    leaks = []
    for fmt in EXPORT_FORMATS:
        text = _export(run_cli, tmp_path, "results", fmt, "researcher_a")
        assert planted.canary in text  # the internal result is there…
        leaks += [
            f"researcher_a results.{fmt}: {s}" for s in SHARES if s in text
        ]  # …its shares not
        for actor in ("researcher_a", "officer_a", "admin_a"):
            text = _export(run_cli, tmp_path, "demands", fmt, actor)
            assert "公开需求" in text
            leaks += [f"{actor} demands.{fmt}: {b}" for b in BUDGETS if b in text]
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize(
    ("actor", "kind", "needles"),
    [
        ("officer_a", "results", "canary shares"),
        ("enterprise_e1", "demands", "canary budgets"),
        ("platform_admin", "results", "canary shares"),
        (None, "demands", "canary budgets"),  # the platform itself, without --as
    ],
)
def test_an_export_shows_the_canary_to_those_entitled_to_it(
    planted: Planted, run_cli: Any, tmp_path: Path, actor: str | None, kind: str, needles: str
) -> None:
    text = _export(run_cli, tmp_path, kind, "csv", actor)
    wanted = {"canary": [planted.canary], "shares": list(SHARES), "budgets": list(BUDGETS)}
    for name in needles.split():
        for needle in wanted[name]:
            assert needle in text, f"{actor or 'system'} {kind}: {needle} missing"


def test_an_export_as_an_unknown_or_disabled_user_is_refused(
    planted: Planted, run_cli: Any, tmp_path: Path
) -> None:
    unknown = run_cli("export", "results", str(tmp_path / "x.csv"), "--as", "nobody-here")
    assert unknown.exit_code == 1 and "nobody-here" in unknown.output
    run_cli("user", "disable", username("officer_a"))
    disabled = run_cli("export", "results", str(tmp_path / "y.csv"), "--as", username("officer_a"))
    assert disabled.exit_code == 1 and "disabled" in disabled.output
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()

"""The record pages offer Edit and Delete, the lists New and the navigation the IP ledger and
imports, exactly to the actors the routes let do it: each actor's pages are compared with what
the authorization matrix says the edit form answers them (200), creating (anything but 401 or
403) and the IP assets and import pages (200)."""

from __future__ import annotations

from typing import Any

from tests.accounts.matrix_support import ACTORS, World, build_world, load_matrix, page_client

KINDS = ("results", "demands", "people", "organizations")


def _expected(route: str) -> dict[str, int]:
    return next(row.expected for row in load_matrix() if row.route == route)


def _targets(world: World) -> dict[str, int]:
    # public records, so that every actor reads the page and only the buttons differ
    return {
        "results": world.records["result_public_a"],
        "demands": world.records["demand_public_e1"],
        "people": world.records["person_a"],
        "organizations": world.org_ids["a"],
    }


def test_the_pages_offer_changes_only_to_those_the_routes_allow(app: Any, database: Any) -> None:
    world = build_world(database)
    targets = _targets(world)
    wrong: list[str] = []
    for actor in ACTORS:
        browser = page_client(app, actor)
        for kind in KINDS:
            detail = browser.get(f"/{kind}/{targets[kind]}")
            assert detail.status_code == 200, (actor, kind)
            may_edit = _expected(f"page_edit_{kind}")[actor] == 200
            for action in ("edit", "delete"):
                shown = f'href="/{kind}/{targets[kind]}/{action}"' in detail.text
                if shown != may_edit:
                    wrong.append(f"{actor} {kind} {action}: shown={shown}")
            listed = browser.get(f"/{kind}")
            may_create = _expected(f"page_create_{kind}")[actor] not in (401, 403)
            shown = f'href="/{kind}/new"' in listed.text
            if shown != may_create:
                wrong.append(f"{actor} {kind} new: shown={shown}")
        home = browser.get("/")
        for href, route in (("/ip/assets", "page_ip_assets"), ("/import", "page_import")):
            shown = f'href="{href}"' in home.text
            if shown != (_expected(route)[actor] == 200):
                wrong.append(f"{actor} navigation {href}: shown={shown}")
    assert not wrong, "\n".join(wrong)

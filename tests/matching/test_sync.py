"""The index follows the registry right after each commit, without a rebuild: creating,
changing and deleting records (and their contributors) through the services, and imports
written with Core. A failed update never loses the database write and a rebuild repairs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfbridge.matching import documents, service
from shelfbridge.matching.index.base import DENSITY_PENALTY
from shelfbridge.matching.types import MatchFilters, Scope, Target
from shelfbridge.registry import service as registry
from shelfbridge.registry.importing import import_file
from tests import factories
from tests.matching.engine_support import (  # noqa: F401 - fixture
    NgramEmbedder,
    engine,
    engine_settings,
)

EVERYONE = Scope(unrestricted=True)
PUBLIC_ONLY = Scope()


def _found(runtime: Any, target: Target, word: str, scope: Scope = EVERYONE) -> set[int]:
    terms = runtime.analyzer.term_counts(word)
    candidates = runtime.backend.lexical(target, {t: 1.0 for t in terms}, 50, MatchFilters(), scope)
    return {c.record_id for c in candidates}


@pytest.fixture
def built(engine: Any, database: Any) -> Any:  # noqa: F811
    with database.unit_of_work() as session:
        owner = factories.organization(session, name="同步测试大学")
        factories.person(session, organization=owner.external_id)
    engine.rebuild()
    return engine


def _result(database: Any, **fields: Any) -> tuple[int, int, int]:
    with database.unit_of_work() as session:
        owner = factories.organization(session)
        person = factories.person(session, organization=owner.external_id)
        result = factories.result(
            session,
            owner=owner.external_id,
            contributors=f"{person.name}@{person.external_id}:100",
            **fields,
        )
        return int(result.id), int(person.id), int(owner.id)


def test_a_created_result_is_found_right_after_commit(built: Any, database: Any) -> None:
    before = built.backend.count(Target.RESULTS)
    ident, person, owner = _result(database, title="石墨烯散热膜的卷对卷制备")
    assert built.backend.count(Target.RESULTS) == before + 1
    assert ident in _found(built, Target.RESULTS, "石墨烯散热膜")
    # Its contributor and its owner now carry its title too (it is public).
    assert person in _found(built, Target.PEOPLE, "石墨烯散热膜")
    assert owner in _found(built, Target.ORGANIZATIONS, "石墨烯散热膜")


def test_a_changed_result_is_reindexed_with_its_people(built: Any, database: Any) -> None:
    ident, person, owner = _result(database, title="石墨烯散热膜的卷对卷制备")
    with database.unit_of_work() as session:
        registry.update(session, "results", ident, {"title": "钙钛矿叠层太阳能电池"})
    assert ident not in _found(built, Target.RESULTS, "石墨烯散热膜")
    assert ident in _found(built, Target.RESULTS, "钙钛矿")
    assert person in _found(built, Target.PEOPLE, "钙钛矿")
    assert person not in _found(built, Target.PEOPLE, "石墨烯散热膜")


def test_a_result_made_internal_leaves_the_public_scope_and_the_people(
    built: Any, database: Any
) -> None:
    ident, person, owner = _result(database, title="石墨烯散热膜的卷对卷制备")
    with database.unit_of_work() as session:
        registry.update(session, "results", ident, {"confidentiality": "internal"})
    assert ident in _found(built, Target.RESULTS, "石墨烯散热膜")
    assert ident not in _found(built, Target.RESULTS, "石墨烯散热膜", PUBLIC_ONLY)
    assert ident in _found(built, Target.RESULTS, "石墨烯", Scope(owner_org_ids=frozenset({owner})))
    # A person's and an organisation's text never hold a non-public title.
    assert person not in _found(built, Target.PEOPLE, "石墨烯散热膜")
    assert owner not in _found(built, Target.ORGANIZATIONS, "石墨烯散热膜")


def test_a_deleted_result_leaves_the_index(built: Any, database: Any) -> None:
    ident, person, _owner = _result(database, title="石墨烯散热膜的卷对卷制备")
    with database.unit_of_work() as session:
        registry.delete(session, "results", ident)
    assert ident not in _found(built, Target.RESULTS, "石墨烯散热膜")
    assert person not in _found(built, Target.PEOPLE, "石墨烯散热膜")


def test_demands_people_and_organisations_follow_too(built: Any, database: Any) -> None:
    with database.unit_of_work() as session:
        enterprise = factories.enterprise(session, name="同步科技有限公司")
        demand = factories.demand(session, enterprise.external_id, title="盐雾环境重防腐涂层需求")
        person = factories.person(session, expertise=["海洋防腐涂层"])
        ids = int(enterprise.id), int(demand.id), int(person.id)
    assert ids[1] in _found(built, Target.DEMANDS, "重防腐涂层")
    assert ids[0] in _found(built, Target.ORGANIZATIONS, "重防腐涂层")  # its public demand
    assert ids[2] in _found(built, Target.PEOPLE, "防腐涂层")
    with database.unit_of_work() as session:
        registry.update(session, "people", ids[2], {"expertise": "航空发动机叶片"})
        registry.delete(session, "demands", ids[1])
    assert ids[2] not in _found(built, Target.PEOPLE, "防腐涂层")
    with database.unit_of_work() as session:
        registry.update(session, "people", ids[2], {"profile": "主持深海防腐涂层长效服役研究"})
    assert ids[2] in _found(built, Target.PEOPLE, "防腐涂层")  # found by the profile now
    assert ids[1] not in _found(built, Target.DEMANDS, "重防腐涂层")
    assert ids[0] not in _found(built, Target.ORGANIZATIONS, "重防腐涂层")


def test_an_import_written_with_core_is_indexed_after_its_commit(
    built: Any, database: Any, tmp_path: Path
) -> None:
    rows = [
        {"external_id": f"SYNC-{n}", "kind": "paper", "title": f"固态电解质界面工程{n}"}
        for n in range(3)
    ]
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    report = import_file(database, "results", path)
    assert report.created == 3
    assert len(_found(built, Target.RESULTS, "固态电解质")) == 3


def test_a_failed_update_keeps_the_write_and_a_rebuild_repairs_the_index(
    built: Any, database: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*_args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(built, "refresh", broken)
    ident, _person, _owner = _result(database, title="石墨烯散热膜的卷对卷制备")
    with database.unit_of_work(write=False) as session:
        assert registry.get(session, "results", ident).title.startswith("石墨烯")
    assert "index rebuild" in caplog.text
    assert built.info()["stale"] is True
    assert ident not in _found(built, Target.RESULTS, "石墨烯散热膜")
    monkeypatch.undo()
    built.rebuild()
    assert built.info()["stale"] is False
    assert ident in _found(built, Target.RESULTS, "石墨烯散热膜")


def test_writes_before_the_first_build_load_nothing(settings: Any, database: Any) -> None:
    from tests.matching.engine_support import make_engine

    runtime = make_engine(settings, database)
    try:
        _result(database, title="石墨烯散热膜的卷对卷制备")
        assert runtime._backend is None  # nothing opened: the first build reads everything
        assert not runtime.is_built()
    finally:
        runtime.close()


def test_a_runtime_of_another_database_is_not_used(settings: Any, database: Any) -> None:
    runtime = service.attach_runtime(settings, database)
    assert service.runtime_of(database) is runtime
    runtime.close()
    assert service.runtime_of(database) is None


def test_an_organisations_kind_and_region_reach_its_people_and_results(
    built: Any, database: Any
) -> None:
    ident, person, owner = _result(database, title="石墨烯散热膜的卷对卷制备")
    with database.unit_of_work() as session:
        registry.update(
            session, "organizations", owner, {"kind": "national_lab", "region_code": "330100"}
        )
    (result,) = built.backend.attributes(Target.RESULTS, [ident])
    assert (result.org_kind, result.region_code) == ("national_lab", "330100")
    (employee,) = built.backend.attributes(Target.PEOPLE, [person])
    assert (employee.org_kind, employee.region_code) == ("national_lab", "330100")


def test_people_of_a_deleted_organisation_lose_its_attributes(built: Any, database: Any) -> None:
    with database.unit_of_work() as session:
        organization = factories.organization(session, kind="state_key_lab")
        person = factories.person(session, organization=organization.external_id)
        ids = int(organization.id), int(person.id)
    assert built.backend.attributes(Target.PEOPLE, [ids[1]])[0].org_kind == "state_key_lab"
    with database.unit_of_work() as session:
        registry.delete(session, "organizations", ids[0])
    assert built.backend.count(Target.ORGANIZATIONS) == 1  # the fixture's own organisation
    assert built.backend.attributes(Target.PEOPLE, [ids[1]])[0].org_kind is None


class _CrowdedNgrams(NgramEmbedder):
    """The test embedder with a neighbourhood density: 0.2 for texts about 散热, else 0."""

    def densities(self, vectors: Any) -> Any:
        probe = self._embed(["散热"])[0]
        return np.where(np.asarray(vectors) @ probe > 0.3, 0.2, 0.0).astype(np.float32)


def test_records_carry_the_embedders_density_when_built_and_when_synced(
    settings: Any, database: Any
) -> None:
    from shelfbridge.matching.service import attach_runtime

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runtime = attach_runtime(engine_settings(settings), database, embedder=_CrowdedNgrams())
    try:
        built_id, _, _ = _result(database, title="散热膜的制备")
        runtime.rebuild()
        synced_id, _, _ = _result(database, title="散热片的设计")  # after the build: synced
        plain_id, _, _ = _result(database, title="水稻育种方法")
        for ident, title, density in (
            (built_id, "散热膜的制备", 0.2),
            (synced_id, "散热片的设计", 0.2),
            (plain_id, "水稻育种方法", 0.0),
        ):
            with database.unit_of_work() as session:
                text = documents.load_documents(session, Target.RESULTS, [ident])[0].text
            vector = runtime.embedder.embed_documents([text])[0]
            found = runtime.backend.dense(Target.RESULTS, vector, 50, MatchFilters(), EVERYONE)
            score = {c.record_id: c.score for c in found}[ident]
            assert score == pytest.approx(1.0 - DENSITY_PENALTY * density, abs=0.01), title
    finally:
        runtime.close()

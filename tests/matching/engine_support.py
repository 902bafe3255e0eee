"""The match engine in tests: a tiny deterministic embedder (character n-grams hashed into a
vector, registered for tests only, never a production default), the runtime fixtures and a
world of two tenants with a confidential canary.

Fixtures here are imported by the test modules that use them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shelfbridge.core.database import Database
from shelfbridge.core.settings import Settings
from shelfbridge.matching.embedders.base import register_embedder
from tests import auth, factories

TEST_EMBEDDER = "test-ngrams"
CANARY = "氪星鼹鼠机密配方"  # planted in tenant A's confidential records only
CANARY_EN = "kryptonmoleformula"


class NgramEmbedder:
    """Hashes character uni- and bigrams into 64 signed dimensions: texts that share
    characters are near, in any language. Deterministic and instant."""

    name = TEST_EMBEDDER
    dim = 64

    def _embed(self, texts: Sequence[str]) -> Any:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = [c for c in text.lower() if c.isalnum()]
            grams = chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=2).digest()
                out[row, digest[0] % self.dim] += 1.0 if digest[1] & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def embed_queries(self, texts: Sequence[str]) -> Any:
        return self._embed(texts)

    def embed_documents(self, texts: Sequence[str]) -> Any:
        return self._embed(texts)


register_embedder(TEST_EMBEDDER, NgramEmbedder)


def cli_invoker(db_url: str, data_dir: Path, embedder: str = TEST_EMBEDDER) -> Any:
    """Runs ``shelfbridge`` commands against a test's database, with their own data directory
    and a test embedder (the CLI builds its runtime from the environment, as in production)."""
    import contextvars

    from typer.testing import CliRunner

    from shelfbridge.cli import app as cli_app
    from tests.conftest import app_url

    env = {
        "SHELFBRIDGE_DATA_DIR": str(data_dir),
        "SHELFBRIDGE_MATCH_EMBEDDER": embedder,
        "SHELFBRIDGE_MIGRATION_DATABASE_URL": db_url,
    }
    runner = CliRunner()

    def invoke(*args: str, lang: str = "en", stdin: str | None = None) -> Any:
        argv = [*args, "--db", app_url(db_url), "--lang", lang]
        return contextvars.copy_context().run(
            runner.invoke, cli_app, argv, env=env, input=stdin, catch_exceptions=False
        )

    return invoke


def _embedded_available() -> bool:
    try:
        import shelfbridge.matching.index.embedded  # noqa: F401
    except ImportError:
        return False
    return True


def engine_settings(settings: Settings) -> Settings:
    update: dict[str, Any] = {"match_embedder": TEST_EMBEDDER}
    if not _embedded_available():
        update["milvus_uri"] = str(settings.data_dir / "milvus.db")
    return settings.model_copy(update=update)


def make_engine(settings: Settings, database: Database) -> Any:
    from shelfbridge.matching.service import attach_runtime

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return attach_runtime(
        engine_settings(settings),
        database,
        embedder=NgramEmbedder(),
    )


@pytest.fixture
def engine(settings: Settings, database: Database) -> Iterator[Any]:
    """The match runtime of the test database, with the test embedder (attach it after the
    app, if the test has one: the last one attached is the one used)."""
    runtime = make_engine(settings, database)
    yield runtime
    runtime.close()


# ---------------------------------------------------------------- two tenants and a canary
@dataclass
class Tenants:
    org: dict[str, int] = field(default_factory=dict)
    ext: dict[str, str] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)


USERS = {
    "officer-a": ("a", "tto_officer"),
    "officer-b": ("b", "tto_officer"),
    "enterprise-e1": ("e1", "enterprise_user"),
    "enterprise-e2": ("e2", "enterprise_user"),
}


def build_tenants(database: Database) -> Tenants:
    """University A (with a public, an internal and a partners result carrying the canary),
    university B, enterprises E1 (with a public and an internal demand) and E2, a person of A
    who contributed to every result of A, and one user per organisation."""
    world = Tenants()
    with database.unit_of_work() as session:
        for key, kind, region in (
            ("a", "university", "330100"),
            ("b", "university", "110000"),
            ("e1", "enterprise", "320500"),
            ("e2", "enterprise", "440300"),
        ):
            make = factories.enterprise if kind == "enterprise" else factories.organization
            org = make(session, kind=kind, region_code=region, name=f"匹配测试{key}")
            world.org[key], world.ext[key] = int(org.id), org.external_id
        person = factories.person(session, organization=world.ext["a"], expertise=["锂电池"])
        world.records["person_a"] = int(person.id)
        contributor = f"{person.name}@{person.external_id}:100"
        results = {
            "public": ("一种锂电池正极材料的制备方法", "锂电池正极材料溶胶凝胶制备。", "public"),
            "internal": (
                f"{CANARY}锂电池电解液 {CANARY_EN}",
                f"内部配方{CANARY}，锂电池电解液添加剂 {CANARY_EN}。",
                "internal",
            ),
            "partners": (
                f"{CANARY}锂电池隔膜涂层 {CANARY_EN}",
                f"合作伙伴可见{CANARY}，锂电池隔膜 {CANARY_EN}。",
                "partners",
            ),
        }
        for name, (title, abstract, confidentiality) in results.items():
            result = factories.result(
                session,
                owner=world.ext["a"],
                title=title,
                abstract=abstract,
                keywords=["锂电池", CANARY] if confidentiality != "public" else ["锂电池"],
                confidentiality=confidentiality,
                contributors=contributor,
            )
            world.records[f"result_{name}"] = int(result.id)
            world.external[f"result_{name}"] = result.external_id
        for name, title, confidentiality in (
            ("public", "寻求锂电池正极材料技术", "public"),
            ("internal", f"{CANARY}锂电池电解液需求", "internal"),
        ):
            demand = factories.demand(
                session,
                world.ext["e1"],
                title=title,
                description=f"锂电池相关技术需求。{CANARY if confidentiality != 'public' else ''}",
                confidentiality=confidentiality,
            )
            world.records[f"demand_{name}"] = int(demand.id)
            world.external[f"demand_{name}"] = demand.external_id
    for username, (key, role) in USERS.items():
        auth.create_user(database, username, memberships=[(world.ext[key], role)])
    auth.create_user(database, "platform-admin", admin=True)
    return world


def grant(database: Database, world: Tenants, record: str, grantee: str) -> None:
    """Share a partners result of A with an organisation (a live sharing grant)."""
    from shelfbridge.accounts.models import SharingGrant

    with database.unit_of_work() as session:
        session.add(
            SharingGrant(
                record_kind="results",
                record_id=world.records[record],
                owner_org_id=world.org["a"],
                grantee_org_id=world.org[grantee],
            )
        )

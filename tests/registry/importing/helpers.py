"""Shared pieces of the import tests: a seeded database and a fingerprint of all its rows."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import inspect, text

from shelfbridge.core.database import Database
from shelfbridge.registry.codes import credit_code_check_character
from tests import factories


def credit_code(first17: str) -> str:
    """A unified social credit code with a correct check character."""
    return first17 + credit_code_check_character(first17)


ENTERPRISE_CREDIT_CODE = credit_code("91440300MA5F00001")


def seed(database: Database) -> None:
    """The records the corpus files refer to, so that "nothing changed" means something."""
    with database.unit_of_work() as session:
        factories.organization(session, external_id="ORG-U", name="种子大学", kind="university")
        factories.organization(
            session,
            external_id="LAB-1",
            name="种子重点实验室",
            kind="state_key_lab",
            parent="ORG-U",
        )
        factories.enterprise(
            session,
            external_id="ENT-1",
            name="种子科技有限公司",
            credit_code=ENTERPRISE_CREDIT_CODE,
        )
        factories.person(session, external_id="PER-1", name="张三", organization="ORG-U")
        factories.person(session, external_id="PER-2", name="李四", organization="ENT-1")
        factories.result(
            session,
            external_id="RES-1",
            owner="ORG-U",
            keywords=["锂电池", "正极材料"],
            ipc_codes=["H01M 4/36", "H01M"],
            contributors=[
                {"name": "张三", "share": "60", "person": "PER-1"},
                {"name": "王五", "share": "40"},
            ],
        )
        factories.demand(session, "ENT-1", external_id="DEM-1", budget_min="100000.50")


def fingerprint(database: Database) -> dict[str, tuple[int, str]]:
    """Every table's row count and a sha256 over all its rows in a fixed order."""
    result: dict[str, tuple[int, str]] = {}
    engine = database.reader
    tables = sorted(inspect(engine).get_table_names())
    with engine.connect() as connection:
        for table in tables:
            columns = [c["name"] for c in inspect(engine).get_columns(table)]
            # text, because PostgreSQL cannot order by a JSON column
            order = ", ".join(f'CAST("{c}" AS TEXT)' for c in columns)
            rows = connection.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
            digest = hashlib.sha256()
            count = 0
            for row in rows:
                count += 1
                digest.update(repr(tuple(_plain(v) for v in row)).encode())
            result[table] = (count, digest.hexdigest())
    return result


def _plain(value: Any) -> Any:
    return str(value) if value is not None else None

"""The import's fast paths give exactly what the plain ones give.

Field cleaners against ``Field.clean``, ``audit.insert_many`` against SQLAlchemy Core, the
audit encoders against the format existing chains were hashed with, and the write pass of a
kind that has no records yet against the ORM's snapshots.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text

from shelfbridge.core import audit
from shelfbridge.core.audit import AuditEvent
from shelfbridge.core.database import Database
from shelfbridge.core.models import utcnow
from shelfbridge.registry.fields import Field, FieldError
from shelfbridge.registry.importing import import_file
from shelfbridge.registry.models import Result, ResultContributor
from shelfbridge.registry.specs import SPECS
from tests import factories
from tests.registry.importing.test_import import RESULT_COLUMNS, result_rows, write_csv

FIELDS = [(kind, field) for kind, spec in SPECS.items() for field in spec.fields]


class Resolver:
    """A resolver with a few known records, answering the same every time."""

    def organization(self, external_id: str) -> tuple[int, str] | None:
        return {"ORG-1": (1, "university"), "ENT-1": (2, "enterprise")}.get(external_id)

    def person(self, external_id: str) -> int | None:
        return {"P-1": 11, "P-2": 12}.get(external_id)

    def region_exists(self, code: str) -> bool:
        return code in {"110000", "110108"}

    def term_exists(self, vocabulary: str, code: str) -> bool:
        return code in {"A", "C"}


def _outcome(clean: Any, raw: Any) -> tuple[str, Any]:
    try:
        value = clean(raw, Resolver())
    except FieldError as error:
        return "error", (error.message, error.params)
    return "value", (type(value), value)


# Pieces that the rules of the fields treat specially, put together at random.
PIECES = [
    "", " ", "\t", "\n", "\x00", ";", ":", "@", "%", ".", "-", "+", "0", "1", "5", "9",
    "10", "12", "100", "60", "40", "33.33", "33.3", "0.005", "1e2", "NaN", "٣", "²",
    "ORG-1", "ENT-1", "P-1", "P-3", "张三", "李四", "paper", "public", "draft",
    "university", "enterprise", "A61K 31/495", "g06f", "G06F16/35", "H01M", "110000",
    "https://x.cn", "a@b.cn", "2027-06-30", "A", "a" * 101, "字" * 501,
]  # fmt: skip
TEXTS = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
RAWS = st.one_of(
    TEXTS,
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=120),
    st.decimals(allow_nan=False, places=3, min_value=-1, max_value=200),
    st.lists(TEXTS, max_size=4),
    st.lists(
        st.fixed_dictionaries(
            {"name": TEXTS, "share": st.one_of(TEXTS, st.integers(0, 100))},
            optional={"person": TEXTS},
        ),
        max_size=3,
    ),
)


@settings(max_examples=300, deadline=None)
@given(raw=RAWS, which=st.sampled_from(FIELDS))
@example(raw="张三@P-1:60;李四:40", which=("results", SPECS["results"].field("contributors")))
@example(raw="张三@P-3:60;李四:40", which=("results", SPECS["results"].field("contributors")))
@example(raw="张三:60;李四:30", which=("results", SPECS["results"].field("contributors")))
@example(raw=" 7 ", which=("results", SPECS["results"].field("trl")))
@example(raw="A61K31/495; g06f", which=("results", SPECS["results"].field("ipc_codes")))
def test_each_fields_cleaner_gives_what_clean_gives(raw: Any, which: tuple[str, Field]) -> None:
    _kind, field = which
    assert _outcome(field.cleaner(), raw) == _outcome(field.clean, raw)


def _edges(field: Field) -> list[Any]:
    """Raw values at the limits of a field: lengths and counts at and one past them."""
    raws: list[Any] = []
    for limit in (getattr(field, "max_length", None), getattr(field, "item_max_length", None)):
        if limit:
            raws += ["字" * limit, "字" * (limit + 1), f" {'a' * limit}\n", "a" * (limit - 1)]
    items = getattr(field, "max_items", None)
    if items:
        raws += [";".join(["x"] * items), ";".join(["x"] * (items + 1)), ["x"] * (items + 1)]
    for low, high in [(getattr(field, "minimum", None), getattr(field, "maximum", None))]:
        if low is not None and high is not None:
            raws += [str(n) for n in (low - 1, low, high, high + 1)] + [f"+{high}", " 0 "]
    return raws


@pytest.mark.parametrize("field", [field for _kind, field in FIELDS], ids=repr)
def test_cleaners_agree_at_the_limits(field: Field) -> None:
    for raw in _edges(field):
        assert _outcome(field.cleaner(), raw) == _outcome(field.clean, raw), raw


ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
CHECKED = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        ANY_TEXT,
        st.decimals(places=2, allow_nan=False, allow_infinity=False),
        st.dates(),
        st.datetimes(timezones=st.one_of(st.none(), st.just(UTC))),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ANY_TEXT, CHECKED, max_size=14))
def test_the_bulk_canonical_json_is_the_canonical_json(snapshot: dict[str, Any]) -> None:
    assert audit.bulk_canonical_json(snapshot) == audit.canonical_json(snapshot)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**65),
    st.lists(
        st.one_of(st.none(), st.text(max_size=30), st.just("a\ud800")), min_size=6, max_size=6
    ),
    st.integers(min_value=-(2**65), max_value=2**65),
)
def test_the_event_hash_is_the_hash_of_the_json_payload(
    seq: int, texts: list[str | None], entity_id: int
) -> None:
    prev, occurred, actor, external_id, before, after = texts
    items = [seq, prev, occurred, actor, "create", "result", entity_id, external_id, before]
    payload = json.dumps([*items, after], ensure_ascii=False, separators=(",", ":"))
    try:
        expected = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:  # a lone surrogate: neither can hash it
        with pytest.raises(UnicodeEncodeError):
            audit.event_hash(*items, after)  # type: ignore[arg-type]
        return
    assert audit.event_hash(*items, after) == expected  # type: ignore[arg-type]


def test_the_audit_encoders_keep_the_format_of_existing_chains() -> None:
    """Hashes of events already written must still verify: the canonical JSON and the hash
    payload are byte for byte what ``json.dumps`` gave (the hash below was made with it)."""
    value = {
        "title": '一种"引号"\\反斜杠\n换行 \u2028 \x01',
        "share": Decimal("33.30"),
        "id": 7,
        "list": ["a", None, True, 1.5],
        "nested": {"b": 1, "a": [{"z": 1, "y": 2}]},
    }
    after = audit.canonical_json(value)
    assert after == json.dumps(
        value,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=audit._json_default,
    )
    digest = audit.event_hash(
        12, "ab" * 32, "2026-01-02T03:04:05.000006Z", "user:管理员", "update", "result", 7,
        "RES-1", '{"a":1}', after,
    )  # fmt: skip
    assert digest == "efd2995125edb63f01685eda76a3e5cb495bb9dec9b554b64a111bf551a0baf7"


def _raw_rows(database: Database, table: str) -> list[tuple[Any, ...]]:
    with database.reader.connect() as connection:
        return [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))]


def test_insert_many_stores_what_sqlalchemy_stores(database: Database) -> None:
    """Byte for byte the same rows (JSON text, dates, numbers) as a Core executemany."""
    with database.unit_of_work() as session:
        owner = factories.organization(session, external_id="ORG-X")
        owner_id = owner.id
    results: Any = Result.__table__
    children: Any = ResultContributor.__table__
    now = utcnow()
    row = {
        "external_id": "RES-X",
        "kind": "paper",
        "title": "标题 “引号”",
        "abstract": None,
        "keywords": ["锂电池", 'a"b'],
        "discipline": "工学",
        "ipc_codes": [],
        "trl": 3,
        "owner_org_id": owner_id,
        "confidentiality": "public",
        "status": "available",
        "created_at": now,
        "updated_at": now,
    }
    stored = []
    for fast in (False, True):
        with database.unit_of_work() as session:
            session.execute(delete(children))
            session.execute(delete(results).where(results.c.external_id == "RES-X"))
            if fast:
                audit.insert_many(session, results, list(row), [tuple(row.values())])
            else:
                session.execute(insert(results), [row])
            ident = session.scalar(select(results.c.id).where(results.c.external_id == "RES-X"))
            child = {"result_id": ident, "position": 1, "name": "张三", "person_id": None}
            child["share"] = Decimal("33.33")
            if fast:
                audit.insert_many(session, children, list(child), [tuple(child.values())])
            else:
                session.execute(insert(children), [child])
        stored.append(
            (
                [r[1:] for r in _raw_rows(database, "results") if r[1] == "RES-X"],
                [r[2:] for r in _raw_rows(database, "result_contributors")],
            )
        )
    assert stored[0] == stored[1]
    assert len(stored[0][0]) == 1


def test_a_first_import_of_a_kind_is_audited_like_the_orm(
    database: Database, tmp_path: Path, run_cli: Any
) -> None:
    """With no results stored yet the write pass compares nothing; its events must still be
    the ORM's snapshots, a re-import must still change nothing, and the chain must verify."""
    with database.unit_of_work() as session:
        factories.organization(session, external_id="ORG-U", name="种子大学")
        factories.person(session, external_id="PER-1", name="张三")
        assert session.scalar(select(Result.id).limit(1)) is None
    path = write_csv(tmp_path / "r.csv", RESULT_COLUMNS, result_rows(30))
    report = import_file(database, "results", path)
    assert report.created == 30
    with database.unit_of_work(write=False) as session:
        for record in session.scalars(select(Result)):
            event = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_kind == "result", AuditEvent.entity_id == record.id
                )
            ).one()
            assert (event.action, event.before) == ("create", None)
            assert event.after == audit.canonical_json(audit.snapshot(record))
        head = audit.head(session)
    again = import_file(database, "results", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 30)
    rows = result_rows(30)
    rows[4][2] = "改过的标题"
    changed = import_file(database, "results", write_csv(tmp_path / "b.csv", RESULT_COLUMNS, rows))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 29)
    with database.unit_of_work(write=False) as session:
        assert audit.head(session)[0] == head[0] + 1
        record = session.scalars(select(Result).where(Result.external_id == "RES-B00004")).one()
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last is not None and last.action == "update"
        assert last.after == audit.canonical_json(audit.snapshot(record))
    outcome = run_cli("audit", "verify")
    assert outcome.exit_code == 0, outcome.output

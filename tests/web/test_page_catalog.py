"""The catalogs: each parses, and no message id sits in two of them (the merged catalog that
tests/core/test_i18n.py checks for completeness and placeholders would hide the loser)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "src" / "shelfbridge" / "locale" / "zh"


def _ids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {str(m.id) for m in read_po(handle) if m.id and not m.fuzzy}


def test_no_message_is_translated_in_two_catalogs() -> None:
    seen: dict[str, str] = {}
    repeated = []
    catalogs = sorted(LOCALE.glob("*.po"))
    assert len(catalogs) >= 4
    for path in catalogs:
        for message in _ids(path):
            if message in seen:
                repeated.append(f"{message!r} in {seen[message]} and {path.name}")
            seen.setdefault(message, path.name)
    assert not repeated, "\n".join(repeated)

"""The web catalog: it parses, it covers every text of the pages, it repeats nothing of core."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

SOURCE = Path(__file__).resolve().parents[2] / "src" / "shelfbridge"
LOCALE = SOURCE / "locale" / "zh"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "translate": (1,)}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(name: str) -> dict[str, str]:
    with (LOCALE / name).open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id and not m.fuzzy}


def _page_messages() -> dict[str, str]:
    files = sorted((SOURCE / "registry" / "pages").glob("*.py"))
    files += sorted((SOURCE / "web" / "templates").rglob("*.html"))
    found: dict[str, str] = {}
    for path in files:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS
        ):
            text = message if isinstance(message, str) else message[0]
            if text:
                found.setdefault(text, f"{path.relative_to(SOURCE)}:{lineno}")
    return found


def test_every_page_text_has_a_chinese_translation() -> None:
    messages = _page_messages()
    assert len(messages) > 100
    # Pages of a domain (accounts, …) keep their texts in that domain's catalog.
    known: dict[str, str] = {}
    for path in sorted(LOCALE.glob("*.po")):
        known.update(_catalog(path.name))
    missing = {m: where for m, where in messages.items() if not known.get(m)}
    assert not missing, "untranslated: " + "\n".join(f"{w}: {m}" for m, w in missing.items())


def test_web_catalog_repeats_no_core_message() -> None:
    assert not set(_catalog("web.po")) & set(_catalog("core.po"))


def test_accounts_catalog_repeats_no_other_catalog() -> None:
    others: set[str] = set()
    for path in LOCALE.glob("*.po"):
        if path.name != "accounts.po":
            others |= set(_catalog(path.name))
    assert not set(_catalog("accounts.po")) & others


def test_web_translations_keep_their_placeholders() -> None:
    for message, translation in _catalog("web.po").items():
        assert set(PLACEHOLDER.findall(translation)) == set(PLACEHOLDER.findall(message)), message

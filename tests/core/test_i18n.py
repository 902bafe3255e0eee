"""Every message the code can show has a Chinese translation; English is the source text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from shelfbridge.core.i18n import catalog, negotiate, translate

SOURCE = Path(__file__).resolve().parents[2] / "src" / "shelfbridge"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "N_": None,
    "translate": (1,),
    "FieldError": None,
    "FieldProblem": (2,),
    "MoneyError": None,
    "Conflict": None,
    "BadRequest": None,
    "ShelfbridgeError": None,
    "NotFound": (2,),
}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def extracted_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*")):
        if path.suffix == ".py":
            method = "python"
        elif path.suffix == ".html":
            method = "jinja2.ext:babel_extract"
        else:
            continue
        for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS
        ):
            text = message if isinstance(message, str) else message[0]
            if text:
                found.setdefault(text, f"{path.relative_to(SOURCE)}:{lineno}")
    return found


def test_every_message_has_a_chinese_translation() -> None:
    messages = extracted_messages()
    assert len(messages) > 50, "extraction found suspiciously few messages"
    zh = catalog("zh")
    missing = {m: where for m, where in messages.items() if m not in zh}
    assert not missing, "untranslated: " + "\n".join(f"{w}: {m}" for m, w in missing.items())


@pytest.mark.parametrize("message", sorted(catalog("zh")))
def test_translations_keep_their_placeholders(message: str) -> None:
    assert set(PLACEHOLDER.findall(catalog("zh")[message])) == set(PLACEHOLDER.findall(message))


def test_english_is_the_source_text_and_chinese_the_default() -> None:
    assert translate("This field is required.", "en") == "This field is required."
    assert translate("This field is required.", "zh") != "This field is required."
    assert negotiate(None) == "zh"
    assert negotiate("en-GB") == "en"
    assert negotiate(None, "fr-FR, en;q=0.8") == "en"

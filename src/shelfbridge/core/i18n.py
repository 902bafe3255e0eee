"""Translations: gettext catalogs (``locale/<lang>/*.po``) read with Babel.

Message ids are the English source texts, so English is complete by construction and the
Chinese catalogs must translate every id (a test extracts all ids and checks). Chinese is the
default language. The current language lives in a context variable set per request or command.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

from shelfbridge.core.settings import SUPPORTED_LANGUAGES

DEFAULT_LANGUAGE = "zh"
current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def catalog(language: str) -> dict[str, str]:
    """All messages of one language, merged from every .po file of that language."""
    messages: dict[str, str] = {}
    folder = resources.files("shelfbridge") / "locale" / language
    if not folder.is_dir():
        return messages
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string and not message.fuzzy:
                    messages[str(message.id)] = str(message.string)
    return messages


def translate(message: str, language: str | None = None) -> str:
    lang = language or current_language.get()
    if lang == "en":
        return message
    return catalog(lang).get(message, message)


def gettext(message: str, **params: object) -> str:
    """Translate into the current language and fill in ``{name}`` parameters."""
    text = translate(message)
    return text.format(**params) if params else text


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a message id for extraction without translating it now."""
    return message


def negotiate(requested: str | None, accept_language: str | None = None) -> str:
    """Pick a supported language from an explicit choice, then Accept-Language."""
    if requested and requested[:2].lower() in SUPPORTED_LANGUAGES:
        return requested[:2].lower()
    if accept_language:
        for part in accept_language.split(","):
            code = part.split(";")[0].strip()[:2].lower()
            if code in SUPPORTED_LANGUAGES:
                return code
    return DEFAULT_LANGUAGE

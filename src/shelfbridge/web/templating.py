"""Jinja2 templates with the translation function and a few formatting helpers."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi.templating import Jinja2Templates

from shelfbridge.accounts.templating import GLOBALS as account_globals
from shelfbridge.accounts.visibility import hidden_fields
from shelfbridge.core.i18n import current_language, gettext, translate
from shelfbridge.registry import vocabularies


def label(vocabulary: dict[str, str], code: str | None) -> str:
    """The translated label of a code, or the code itself when the vocabulary lacks it."""
    if code is None:
        return ""
    return translate(vocabulary.get(code, code))


def make_templates() -> Jinja2Templates:
    folder = resources.files("shelfbridge") / "web" / "templates"
    templates = Jinja2Templates(directory=str(folder))
    env = templates.env
    env.autoescape = True
    globals_: dict[str, Any] = {
        "_": gettext,
        "language": lambda: current_language.get(),
        "label": label,
        "v": vocabularies,
        "hidden_fields": hidden_fields,
    }
    env.globals.update(globals_)
    env.globals.update(account_globals)  # csrf_field(), csrf_token(), signed_in_user()
    return templates

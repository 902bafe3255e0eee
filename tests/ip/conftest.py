"""The IP tests speak English unless a test chooses Chinese (the default language)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shelfbridge.core.i18n import current_language


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = current_language.set("en")
    yield
    current_language.reset(token)

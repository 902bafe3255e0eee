"""HTML pages of the registry: lists, details, forms, delete confirmations, sharing grants
and the import.

Every text on these pages is an English message id translated through ``locale/zh/web.po``.
"""

from __future__ import annotations

from fastapi import APIRouter

from shelfbridge.registry.pages import imports, records, sharing
from shelfbridge.registry.pages.kinds import PAGES


def build_router() -> APIRouter:
    router = APIRouter()
    records.register_options(router)
    for page in PAGES.values():
        records.register(router, page)
        if page.kind in sharing.SHAREABLE:
            sharing.register(router, page)
    router.include_router(imports.build_router())
    return router


__all__ = ["build_router"]

"""HTML pages of the registry (lists, details, forms, import)."""

from __future__ import annotations

from fastapi import APIRouter


def build_router() -> APIRouter:
    return APIRouter()

"""Pydantic shapes of the accounts JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    password: str = Field(max_length=1000)
    name: str | None = Field(None, max_length=100, description="What the token is for.")


class TokenCreated(BaseModel):
    token: str = Field(description="The secret: shown this once, send it as `Bearer <token>`.")
    id: int
    prefix: str = Field(description="The first characters, to tell tokens apart.")
    name: str
    expires_at: datetime | None


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class MembershipOut(BaseModel):
    organization_id: int
    organization: str = Field(description="external_id of the organisation")
    organization_name: str
    role: str


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    is_platform_admin: bool
    memberships: list[MembershipOut]

"""One typed settings object; every setting is read from ``SHELFBRIDGE_*`` variables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGUAGES = ("zh", "en")


class Settings(BaseSettings):
    """Settings of one Shelfbridge process. Nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="SHELFBRIDGE_", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Folder for the embedded database and other local files."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file shelfbridge.db in the data directory.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the role that owns the tables, used only to create and "
        "upgrade the schema (`shelfbridge init`, `demo load`); default: the database URL.",
    )
    language: str = Field(default="zh", description="Default language of messages: zh or en.")
    demo_mode: bool = Field(
        default=False, description="Set by `make demo`; enables demo-only commands."
    )
    page_size: int = Field(default=20, description="Default page size of lists.")
    secret_key: str = Field(
        default="change-me-in-production", description="Key that signs cookies."
    )
    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        description="A signed-in session ends after this many minutes without a request.",
    )
    session_max_hours: int = Field(
        default=12,
        ge=1,
        description="A signed-in session ends this many hours after sign-in, active or not.",
    )
    cookie_secure: Literal["auto"] | bool = Field(
        default="auto",
        description="Mark cookies Secure: auto (when the request came over https), true or false.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins in a row after which a username is locked.",
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="How long a locked username stays locked, in minutes."
    )
    login_ip_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address within the window that block it.",
    )
    login_ip_window_minutes: int = Field(
        default=10,
        ge=1,
        description="The window, in minutes, of the per-address limit on failed sign-ins.",
    )
    api_token_lifetime_days: int | None = Field(
        default=None,
        ge=1,
        description="Days a new API token stays valid; empty: until it is revoked.",
    )

    match_embedder: str = Field(
        default="static-use-e5",
        description="Embedder the matcher uses (see `shelfbridge index info`); changing it needs "
        "`shelfbridge index rebuild`.",
    )
    match_index: Literal["embedded", "milvus"] = Field(
        default="embedded",
        description="Where the match index lives: embedded (files under the data directory) or "
        "milvus (SHELFBRIDGE_MILVUS_URI).",
    )
    match_first_build_wait: float = Field(
        default=10.0,
        ge=0,
        description="Seconds the first match request waits for the match index to be built "
        "(in the background) before it answers 503 with the build's progress; 0: never wait.",
    )
    milvus_uri: str | None = Field(
        default=None,
        description="Milvus address (http://host:19530) or a milvus-lite file; setting it "
        "selects the Milvus index backend.",
    )

    reward_second_approval_above: Decimal = Field(
        default=Decimal("50000.00"),
        ge=0,
        max_digits=15,
        decimal_places=2,
        description="A reward distribution whose pool exceeds this many yuan needs a second "
        "approver who is not the requester.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shelfbridge.db').resolve()}"

    def resolved_migration_database_url(self) -> str:
        return self.migration_database_url or self.resolved_database_url()

    def default_language(self) -> str:
        return self.language if self.language in SUPPORTED_LANGUAGES else "zh"

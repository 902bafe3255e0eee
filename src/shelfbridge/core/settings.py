"""One typed settings object; every setting is read from ``SHELFBRIDGE_*`` variables."""

from __future__ import annotations

from pathlib import Path

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
    language: str = Field(default="zh", description="Default language of messages: zh or en.")
    demo_mode: bool = Field(
        default=False, description="Set by `make demo`; enables demo-only commands."
    )
    page_size: int = Field(default=20, description="Default page size of lists.")
    max_page_size: int = Field(default=200, description="Largest page size a list accepts.")
    secret_key: str = Field(
        default="change-me-in-production", description="Key that signs cookies."
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shelfbridge.db').resolve()}"

    def default_language(self) -> str:
        return self.language if self.language in SUPPORTED_LANGUAGES else "zh"

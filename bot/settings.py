"""Settings from the environment and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///" + str(Path("data") / "workshop.db")
LOCALES = ("zh_CN", "en")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_bot_username: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    invite_ttl_days: int = Field(default=7, ge=1)
    plate_lock_after: int = Field(default=3, ge=1)
    fault_escalation_minutes: int = Field(default=10, ge=1)
    extra_item_escalation_minutes: int = Field(default=15, ge=1)
    escalation_check_seconds: int = Field(default=60, ge=1)
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_file_base_url(self) -> str:
        """``…/bot`` → ``…/file/bot``, as a local Bot API server serves files."""
        base = self.telegram_api_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

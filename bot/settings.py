"""Settings from the environment and an optional ``.env`` file."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.wecom.crypto import aes_key
from models.duty import DutySchedule, parse_day_time
from models.shop_time import ShopCalendar, parse_days

DEFAULT_DATABASE_URL = "sqlite:///" + str(Path("data") / "workshop.db")
LOCALES = ("zh_CN", "en")
# Telegram's rule for setWebhook's secret_token (sent back in X-Telegram-Bot-Api-Secret-Token).
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WECOM_REQUIRED = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token",
                  "wecom_aes_key")


def _hours(value: str) -> tuple[time, time]:
    try:
        start, end = value.replace(" ", "").split("-")
        return time.fromisoformat(start), time.fromisoformat(end)
    except ValueError as exc:
        raise ValueError("WORKING_HOURS must be like 09:00-18:00") from exc


def _day_range(value: str) -> tuple[int, int]:
    try:
        first, last = value.replace(" ", "").split("-")
        return int(first), int(last)
    except ValueError as exc:
        raise ValueError("a day window must be like 3-7") from exc


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # How long a Bot API answer is waited for; a send that times out is kept for the outbox
    # and may then arrive twice, so this is long (python-telegram-bot's default is 5 s).
    telegram_read_timeout_seconds: float = Field(default=30.0, gt=0)
    telegram_bot_username: str | None = None
    # Telegram's pace (bot.pacing): seconds between a job's messages to one chat, and messages
    # a second for the whole bot. Telegram's own limits; a local Bot API server may differ.
    telegram_chat_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    telegram_messages_per_second: float = Field(default=28.0, gt=0, le=1000)
    # Webhook instead of long polling when the URL is set (served by the HTTP server).
    telegram_webhook_url: str | None = None
    telegram_webhook_path: str = "/telegram/webhook"
    telegram_webhook_secret: str | None = Field(default=None, validate_default=True)
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    invite_ttl_days: int = Field(default=7, ge=1)
    plate_lock_after: int = Field(default=3, ge=1)
    fault_escalation_minutes: int = Field(default=10, ge=1)
    extra_item_escalation_minutes: int = Field(default=15, ge=1)
    escalation_check_seconds: int = Field(default=60, ge=1)
    outbox_check_seconds: int = Field(default=30, ge=1)  # refused messages tried again
    # Several workers: how long a job's claim on a due row holds (a crashed worker's rows are
    # taken over after it); longer than any send.
    claim_lease_seconds: int = Field(default=300, ge=1)
    # Several workers receive this bot's updates (webhooks behind a load balancer): each update
    # reads the person's conversation step and drafts from the database first.
    shared_chat_state: bool = False
    # How long the access gate trusts what it read about an account (models.staff_cache); a
    # change made in another process (the CLI) reaches the gate within this. 0: no cache.
    staff_cache_seconds: float = Field(default=10.0, ge=0)
    # After-sales follow-up (A1–A13)
    working_hours: str = "09:00-18:00"
    working_days: str = "mon-sat"
    first_call_days: str = "3-7"
    second_call_days: str = "7-14"
    maintenance_notice_days: int = Field(default=7, ge=0)
    archive_reminder_hours: int = Field(default=4, ge=1)
    callback_reminder_time: str = "17:00"
    report_time: str = "08:00"
    letter_within_days: int = Field(default=2, ge=0)
    followup_check_seconds: int = Field(default=60, ge=1)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line (bot.logs)
    # WeCom (企业微信) self-built app; the channel runs when the first five are all set.
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin"
    wecom_callback_path: str = "/wecom/callback"
    wecom_max_clock_skew_seconds: int = Field(default=300, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    notify_channels: Literal["both", "preferred"] = "both"
    # Before and during work (N5) and duty areas (W8–W10); times in shop time.
    lift_watch_minutes: int = Field(default=5, ge=1, le=120)
    duty_morning_time: str = "08:30"
    duty_evening_time: str = "17:30"
    duty_friday_time: str = "16:30"
    duty_wash_day_time: str = "sat 16:00"
    duty_missed_minutes: int = Field(default=30, ge=1, le=24 * 60)
    duty_summary_day_time: str = "sat 18:00"
    # Trainings and meetings (W11); work orders from the DMS (POST /api/work-orders).
    notice_reminder_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    intake_api_key: str | None = None  # unset: the intake endpoint answers 503
    # A copy of the database every day at BACKUP_TIME (shop time) into BACKUP_DIR (unset: no
    # daily backup), the newest BACKUP_KEEP kept (bot.backups).
    backup_dir: str | None = None
    backup_keep: int = Field(default=7, ge=1)
    backup_time: str = "03:00"
    # The customer's page (W5 from their phone): ``{PUBLIC_BASE_URL}/c/<token>``, served only
    # when set; the shop's name and phone are shown on it.
    public_base_url: str | None = None
    shop_name: str | None = None
    shop_phone: str | None = None
    customer_link_hours: float = Field(default=24, gt=0, le=24 * 30)

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key(cls, value: str | None) -> str | None:
        if value:
            aes_key(value)  # 43 characters of base64 that decode to a 32-byte key
        return value or None

    @field_validator("wecom_callback_path", "telegram_webhook_path")
    @classmethod
    def _path(cls, value: str, info: ValidationInfo) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{str(info.field_name).upper()} must start with /")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        scheme, _, rest = value.partition("://")
        if scheme not in ("https", "http") or not rest.strip("/"):
            # http only makes sense with a local Bot API server, which allows it
            raise ValueError("must be the public https:// base URL Telegram posts to")
        return value.rstrip("/")

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value.rstrip("/"))
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.path \
                or parts.query or parts.fragment:
            raise ValueError("must be the public address of the bot's HTTP server, like "
                             "https://shop.example.com (no path)")
        return value.rstrip("/")

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not WEBHOOK_SECRET.fullmatch(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if not value and info.data.get("telegram_webhook_url"):
            raise ValueError("must be set when TELEGRAM_WEBHOOK_URL is set (1-256 characters "
                             "of A-Z, a-z, 0-9, _ and -)")
        return value or None

    @model_validator(mode="after")
    def _wecom_complete(self) -> Settings:
        given = [name for name in WECOM_REQUIRED if getattr(self, name)]
        if given and len(given) != len(WECOM_REQUIRED):
            missing = [name.upper() for name in WECOM_REQUIRED if name not in given]
            raise ValueError("the WeCom channel needs " + ", ".join(missing) + " as well")
        return self

    @property
    def wecom_configured(self) -> bool:
        return all(getattr(self, name) for name in WECOM_REQUIRED)

    @property
    def serves_http(self) -> bool:
        """Whether ``run`` serves the HTTP server: for WeCom, the DMS intake, a Telegram
        webhook or the customer's page, or because ``HTTP_PORT`` is set (for ``/healthz``
        alone: the image sets it)."""
        return bool(self.wecom_configured or self.intake_api_key or self.telegram_webhook
                    or self.public_base_url or "http_port" in self.model_fields_set)

    def customer_link_url(self, token: str) -> str:
        """Where a customer link's page is (``PUBLIC_BASE_URL`` must be set)."""
        assert self.public_base_url, "PUBLIC_BASE_URL is not set"
        return f"{self.public_base_url}/c/{token}"

    @property
    def telegram_webhook(self) -> str | None:
        """The full URL Telegram posts updates to; ``None``: long polling."""
        if not self.telegram_webhook_url:
            return None
        return self.telegram_webhook_url + self.telegram_webhook_path

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

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        start, end = _hours(value)
        if start >= end:
            raise ValueError("WORKING_HOURS must be like 09:00-18:00")
        return value

    @field_validator("first_call_days", "second_call_days")
    @classmethod
    def _day_range(cls, value: str) -> str:
        first, last = _day_range(value)
        if not 0 <= first <= last:
            raise ValueError("a day window must be like 3-7")
        return value

    @field_validator("working_days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("callback_reminder_time", "report_time", "backup_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        time.fromisoformat(value)
        return value

    @field_validator("duty_morning_time", "duty_evening_time", "duty_friday_time")
    @classmethod
    def _duty_clock(cls, value: str) -> str:
        time.fromisoformat(value)
        return value

    @field_validator("duty_wash_day_time", "duty_summary_day_time")
    @classmethod
    def _duty_day_time(cls, value: str) -> str:
        parse_day_time(value)
        return value

    @property
    def calendar(self) -> ShopCalendar:
        start, end = _hours(self.working_hours)
        return ShopCalendar(self.tz, start, end, parse_days(self.working_days))

    @property
    def duty_schedule(self) -> DutySchedule:
        return DutySchedule.parse(
            morning=self.duty_morning_time, evening=self.duty_evening_time,
            friday=self.duty_friday_time, wash=self.duty_wash_day_time,
            summary=self.duty_summary_day_time)

    @property
    def first_call_window(self) -> tuple[int, int]:
        return _day_range(self.first_call_days)

    @property
    def second_call_window(self) -> tuple[int, int]:
        return _day_range(self.second_call_days)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def telegram_file_base_url(self) -> str:
        """``…/bot`` → ``…/file/bot``, as a local Bot API server serves files."""
        base = self.telegram_api_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

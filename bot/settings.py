"""Settings from the environment and .env: nested groups joined with `__` (BOT__TOKEN, …)."""

from __future__ import annotations

import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from questionnaires.loader import DEFINITIONS_DIR

DATA_DIR = Path("data")


class BotSettings(BaseModel):
    token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather (https://t.me/BotFather)."
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API server; point it at a self-hosted Bot API server or an emulator.",
    )
    username: str | None = Field(
        default=None, description="The bot's username without @, for deep links and QR codes."
    )
    officer_ids: list[int] = Field(
        default_factory=list, description="Telegram ids of officers who see all services."
    )
    default_channel: str = Field(
        default="messenger", description="Channel recorded when /start comes without a link."
    )


class DatabaseSettings(BaseModel):
    url: str = Field(
        default=f"sqlite+aiosqlite:///{DATA_DIR / 'otklik.db'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    echo: bool = False


class FsmSettings(BaseModel):
    redis_url: str | None = Field(
        default=None,
        description="Keep dialog state in Redis (several bot processes); default: the database.",
    )
    ttl_days: int = Field(default=7, ge=1, description="Unfinished dialogs are forgotten after.")

    @field_validator("redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None


class PrivacySettings(BaseModel):
    pepper: SecretStr | None = Field(
        default=None,
        description="Secret for HMAC de-duplication keys; generated into data/ when unset.",
    )

    @field_validator("pepper", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    ratings_per_service_per_day: int = Field(
        default=1, ge=0, description="Ballot-stuffing guard; 0 turns it off."
    )
    min_group_size: int = Field(default=5, ge=1, description="Anonymity threshold.")
    min_comment_group_size_staff: int = Field(default=10, ge=1)


class BodySettings(BaseModel):
    name: str = "Орган власти"
    timezone: str = Field(default="Europe/Moscow", description="IANA zone of the body.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ReportsSettings(BaseModel):
    digest_cron: str = Field(
        default="0 9 * * mon",
        description="When the weekly digest goes out (crontab, the body's time zone).",
    )
    alert_threshold: int = Field(
        default=2, ge=1, le=4, description="An overall score at or below it counts as negative."
    )
    weekly_figures: bool = Field(
        default=False,
        description=(
            "Weeks show figures (weekly digest, negative batches per week); costs the"
            " breakdowns of months and longer periods. Off: months are the finest."
        ),
    )
    alert_hour: int = Field(
        default=9,
        ge=0,
        le=23,
        description="Hour (body's zone) of the batch of negative ratings after each closed week.",
    )

    @field_validator("digest_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as error:
            raise ValueError(f"not a crontab expression: {error}") from None
        return value


class ContentSettings(BaseModel):
    questionnaires_dir: Path = DEFINITIONS_DIR
    catalog_path: Path = DEFINITIONS_DIR.parent / "catalog.yaml"
    campaigns_path: Path = DEFINITIONS_DIR.parent / "campaigns.yaml"


class Settings(BaseSettings):
    """Everything configurable; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    bot: BotSettings = BotSettings()
    db: DatabaseSettings = DatabaseSettings()
    fsm: FsmSettings = FsmSettings()
    privacy: PrivacySettings = PrivacySettings()
    body: BodySettings = BodySettings()
    reports: ReportsSettings = ReportsSettings()
    content: ContentSettings = ContentSettings()
    log_level: str = "INFO"


def ensure_pepper(settings: Settings, data_dir: Path = DATA_DIR) -> SecretStr:
    """The configured pepper, or one generated once and kept in data/ (readable by owner only).

    Losing it only resets the de-duplication keys, which expire within days anyway.
    """
    if settings.privacy.pepper is not None:
        return settings.privacy.pepper
    path = data_dir / "pepper.key"
    if path.exists():
        return SecretStr(path.read_text(encoding="utf-8").strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value, encoding="utf-8")
    return SecretStr(value)

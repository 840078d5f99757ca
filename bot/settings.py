"""Settings from the environment and .env: nested groups joined with `__` (BOT__TOKEN, …).

Relative paths (.env, data/, SQLite files, content) resolve against the home folder, the
OTKLIK_HOME variable or by default the project folder, never the current folder: systemd and
cron start the bot from elsewhere.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import secrets
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from questionnaires.deeplinks import is_max_bot_name
from questionnaires.loader import DEFINITIONS_DIR
from questionnaires.schema import Language

HOME_VARIABLE: Final = "OTKLIK_HOME"
PROJECT_DIR: Final = Path(__file__).resolve().parent.parent
MIN_PEPPER_BYTES: Final = 16


def home() -> Path:
    """The folder holding .env and data/: $OTKLIK_HOME, else the project folder (a source
    checkout), else the current folder (an installed package has no project folder)."""
    value = os.environ.get(HOME_VARIABLE, "").strip()
    if value:
        return Path(value).expanduser().resolve()
    if (PROJECT_DIR / "pyproject.toml").is_file():
        return PROJECT_DIR
    return Path.cwd().resolve()


def data_folder() -> Path:
    """Where the generated pepper, the SQLite database and caches live by default."""
    return home() / "data"


def _resolved(path: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else home() / path


def _id_list(value: object) -> object:
    """`123`, `123,456`, `123 456` and `[123, 456]` all mean a list of ids."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("not a valid list; write the ids separated by commas") from None
    return [part for part in text.replace(",", " ").split() if part]


#: Telegram user ids, from `123,456`, `123` or `[123, 456]` (.env or the environment).
IdList = Annotated[list[Annotated[int, Field(gt=0)]], NoDecode, BeforeValidator(_id_list)]

logger = logging.getLogger(__name__)

#: Beside data/, not in it: a copy or backup of data/ alone does not carry the pepper.
PEPPER_FILE = Path("secrets") / "pepper.key"


class BotSettings(BaseModel):
    token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather (https://t.me/BotFather)."
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        description="Bot API server; point it at a self-hosted Bot API server or an emulator.",
        examples=["http://127.0.0.1:8081"],
    )
    proxy: str | None = Field(
        default=None,
        description="Proxy for every request to Telegram: socks5://, socks4:// or http://.",
        examples=["socks5://127.0.0.1:1080"],
    )
    connect_timeout: int = Field(
        default=10, ge=1, description="Seconds one attempt to reach Telegram at start may take."
    )
    connect_retry_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long start-up keeps retrying an unreachable Telegram (then exit 3).",
    )
    username: str | None = Field(
        default=None, description="The bot's username without @, for deep links and QR codes."
    )
    officer_ids: IdList = Field(
        default_factory=list,
        description="Telegram ids of officers who see all services.",
        examples=["123456789,987654321"],
    )
    internal_officer_ids: IdList = Field(
        default_factory=list,
        examples=["123456789"],
        description="Telegram ids of the internal officer(s) who receive staff initiative "
        "feedback (Procedure §4.5), in a daily batch, and the staff report (/report).",
    )
    default_channel: str = Field(
        default="messenger", description="Channel recorded when /start comes without a link."
    )
    webhook_url: str | None = Field(
        default=None,
        description="Public https:// address Telegram posts updates to; set, the bot serves a "
        "webhook on the web server (its path must start with /telegram/) instead of long "
        "polling. Unset: long polling.",
        examples=["https://otklik.example.gov.ru/telegram/updates"],
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Telegram's X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -); "
        "unset: derived from the pepper, so every worker sharing the pepper agrees on it.",
    )
    webhook_ack_seconds: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="How long a webhook request waits for its update to be handled before it "
        "is acknowledged anyway (handling goes on in the background). 0: acknowledge at once.",
    )

    @field_validator("proxy", mode="before")
    @classmethod
    def _empty_proxy_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("proxy")
    @classmethod
    def _known_proxy_scheme(cls, value: str | None) -> str | None:
        if value is not None and value.split("://")[0] not in _PROXY_SCHEMES:
            raise ValueError("not a proxy URL (socks5://, socks4:// or http://host:port)")
        return value

    @field_validator("webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_webhook_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_path(cls, value: str | None) -> str | None:
        return _webhook_url(value, "/telegram/")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http:// or https:// URL")
        return value.rstrip("/")


#: MAX's Bot API (https://dev.max.ru/docs-api): requests go to platform-api2.max.ru since the
#: platform moved from platform-api.max.ru; the token goes in the Authorization header.
MAX_API_BASE_URL: Final = "https://platform-api2.max.ru"


class MaxSettings(BaseModel):
    """The MAX messenger front (issue 13): off until a token is set."""

    token: SecretStr | None = Field(
        default=None,
        description="MAX bot token from the MAX for partners platform (business.max.ru): "
        "Chat bots -> the bot -> Settings. Unset: no MAX front.",
    )
    api_base_url: str = Field(
        default=MAX_API_BASE_URL,
        description="MAX Bot API server; point it at an emulator in tests.",
        examples=["http://127.0.0.1:8082"],
    )
    bot_name: str | None = Field(
        default=None,
        description="The MAX bot's public name, for start links https://max.ru/<name>?start=...",
    )
    poll_timeout: int = Field(
        default=30, ge=0, le=90, description="Seconds one long-polling GET /updates may wait."
    )
    webhook_url: str | None = Field(
        default=None,
        description="Public https:// address MAX posts updates to; set, the MAX front is "
        "subscribed to it (POST /subscriptions) and served on the web server (its path must "
        "start with /max/) instead of long polling. Unset: long polling.",
        examples=["https://otklik.example.gov.ru/max/updates"],
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="MAX's X-Max-Bot-Api-Secret (5-256 of A-Z a-z 0-9 -); unset: derived from "
        "the pepper, so every worker sharing the pepper agrees on it.",
    )
    webhook_ack_seconds: float = Field(
        default=2.0,
        ge=0,
        le=25,
        description="How long a MAX webhook request waits for its update to be handled before "
        "it is acknowledged anyway (handling goes on in the background). 0: at once.",
    )
    officer_ids: IdList = Field(
        default_factory=list,
        description="MAX user ids of officers who see all services: scheduled reports, "
        "digests, signals, alerts and poll results reach their MAX chats as well.",
        examples=["123456789"],
    )
    internal_officer_ids: IdList = Field(
        default_factory=list,
        description="MAX user ids of the internal officer(s): the staff initiative batches "
        "reach their MAX chats as well.",
        examples=["123456789"],
    )

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("bot_name", mode="before")
    @classmethod
    def _link_name(cls, value: object) -> object:
        # Poll invitations to MAX chats carry the link: a name no link can hold is refused at
        # start, not at the first invitation.
        if value == "":
            return None
        if isinstance(value, str) and not is_max_bot_name(value):
            raise ValueError("not a MAX bot name: latin letters, digits, _ . - (no @)")
        return value

    @field_validator("webhook_url", "webhook_secret", mode="before")
    @classmethod
    def _empty_webhook_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_path(cls, value: str | None) -> str | None:
        return _webhook_url(value, "/max/")

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _MAX_WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            # maxapi's SubscribeWebhook, after dev.max.ru/docs-api/methods/POST/subscriptions:
            # "От 5 до 256 символов ... Разрешены только символы A-Z, a-z, 0-9, и дефис".
            raise ValueError("5 to 256 characters of A-Z, a-z, 0-9 and - (MAX's rule)")
        return value


_MAX_WEBHOOK_SECRET: Final = re.compile(r"[A-Za-z0-9-]{5,256}")


def _webhook_url(value: str | None, prefix: str) -> str | None:
    """A webhook URL the web server serves: http(s), a host, a path under ``prefix`` (the
    messenger's route) and nothing after the path."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an https:// URL")
    if not parts.path.startswith(prefix) or len(parts.path) <= len(prefix):
        raise ValueError(f"its path must start with {prefix} (the web server serves it)")
    if parts.query or parts.fragment:
        raise ValueError("no ?query or #fragment: the path alone names the webhook")
    return value


_PROXY_SCHEMES: Final = ("socks5", "socks4", "http", "https")
_WEBHOOK_SECRET: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")

#: Accepted spellings of the two supported databases, and what they mean.
_DRIVERS: Final = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class DatabaseSettings(BaseModel):
    url: str = Field(
        default="sqlite+aiosqlite:///data/otklik.db",
        validate_default=True,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
        examples=["postgresql+asyncpg://otklik:secret@127.0.0.1:5432/otklik"],
    )
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        """`postgres://` (Heroku-style) and `postgresql://` mean asyncpg; relative SQLite paths
        resolve against the home folder."""
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError("not a database URL") from None
        driver = _DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"the driver {url.drivername!r} is not supported; "
                "use sqlite+aiosqlite:///path or postgresql+asyncpg://"
            )
        url = url.set(drivername=driver)
        if driver.startswith("sqlite") and url.database not in (None, "", ":memory:"):
            url = url.set(database=str(_resolved(Path(url.database or ""))))
        return url.render_as_string(hide_password=False)


class FsmSettings(BaseModel):
    redis_url: str | None = Field(
        default=None,
        description="Keep dialog state in Redis (several bot processes); default: the database.",
    )
    ttl_days: int = Field(default=7, ge=1, description="Unfinished dialogs are forgotten after.")
    redis_max_connections: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Redis connections per bot process; more callers wait for a free one.",
    )
    redis_pool_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a caller waits for a free Redis connection."
    )

    @field_validator("redis_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None


class PrivacySettings(BaseModel):
    pepper: SecretStr | None = Field(
        default=None,
        description="Secret for the keyed hashes of Telegram ids; else read from pepper_file.",
    )
    pepper_file: Path = Field(
        default=PEPPER_FILE,
        validate_default=True,
        description="Where the pepper is kept (generated on first start, mode 0600). Keep it "
        "out of the database's folder and out of its backups.",
    )

    @field_validator("pepper", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("pepper_file")
    @classmethod
    def _pepper_from_home(cls, value: Path) -> Path:
        return _resolved(value)

    @field_validator("pepper")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            size = len(value.get_secret_value().encode())
            if size < MIN_PEPPER_BYTES:
                raise ValueError(
                    f"is {size} bytes long, at least {MIN_PEPPER_BYTES} are needed for a secret "
                    "key (leave it empty and one is generated into data/pepper.key)"
                )
        return value

    ratings_per_service_per_day: int = Field(
        default=1, ge=0, description="Ballot-stuffing guard; 0 turns it off."
    )
    min_group_size: int = Field(default=5, ge=1, description="Anonymity threshold.")
    min_comment_group_size_staff: int = Field(default=10, ge=1)


class BodySettings(BaseModel):
    name: str = Field(
        default="органе власти",
        min_length=1,
        description="The body's name as the Appendix 2 report's header «в …» needs it "
        "(prepositional case).",
        examples=["Инспекции государственного жилищного надзора Пермского края"],
    )
    timezone: str = Field(
        default="Europe/Moscow", description="IANA zone of the body.", examples=["Europe/Moscow"]
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            close = _close_zones(value)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise ValueError(f"unknown time zone {value!r}; use an IANA name{hint}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ReportsSettings(BaseModel):
    digest_cron: str = Field(
        default="0 9 * * mon",
        examples=["0 9 * * mon"],
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
    pool_web_with_messengers: bool = Field(
        default=False,
        description=(
            "Web-form answers count toward the anonymity threshold together with Telegram and"
            " MAX answers. Risk: anyone can be any number of web respondents, so an officer"
            " can pad a small group with their own web answers and subtract them"
            " (docs/anonymity.md). Off: the web counts only in groups of its own."
        ),
    )
    alert_hour: int = Field(
        default=9,
        ge=0,
        le=23,
        description="Hour (body's zone) of the batch of negative ratings after each closed week.",
    )
    escalation_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 30,
        description="A batch of negative ratings nobody acknowledged within this many hours "
        "goes to REPORTS__ESCALATION_OFFICER_IDS, once.",
    )
    escalation_officer_ids: IdList = Field(
        default_factory=list,
        examples=["123456789"],
        description="Telegram ids of the second officer(s) who get unacknowledged batches.",
    )
    officer_language: Language = Field(
        default=Language.RU,
        description="Language (ru or en) of the scheduled deliveries to an officer whose "
        "language is not known yet: learned from the language their messenger reports with "
        "their commands, or chosen with /language.",
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


class StaffSettings(BaseModel):
    feedback_hour: int = Field(
        default=10,
        ge=0,
        le=23,
        description="From this hour (the body's zone) initiative feedback of earlier days goes "
        "to the internal officers, once a day.",
    )


def _close_zones(value: str) -> list[str]:
    """`Moscow` → Europe/Moscow; `europe/moscow` → Europe/Moscow."""
    zones = _zones()
    wanted = value.strip().replace(" ", "_").lower()
    exact = [z for z in zones if z.lower() == wanted or z.lower().endswith("/" + wanted)]
    return sorted(exact)[:3] or difflib.get_close_matches(value, zones, n=2)


@cache
def _zones() -> list[str]:
    return sorted(available_timezones())


class ContentSettings(BaseModel):
    """Content files; relative paths resolve against the home folder."""

    questionnaires_dir: Path = DEFINITIONS_DIR
    catalog_path: Path = DEFINITIONS_DIR.parent / "catalog.yaml"
    campaigns_path: Path = DEFINITIONS_DIR.parent / "campaigns.yaml"
    #: Column mapping of the appeals register (Procedure §3.5; services/appeals.py).
    appeals_mapping_path: Path = DEFINITIONS_DIR.parent / "appeals_mapping.example.yaml"
    #: Rules that propose an extra poll (Procedure §3.3; questionnaires/triggers.py).
    triggers_path: Path = DEFINITIONS_DIR.parent / "triggers.yaml"
    #: Keyword rules of the open-answer categories (Procedure §3.4; questionnaires/open_answers).
    categories_path: Path = DEFINITIONS_DIR.parent / "categories.yaml"

    @field_validator(
        "questionnaires_dir",
        "catalog_path",
        "campaigns_path",
        "appeals_mapping_path",
        "triggers_path",
        "categories_path",
    )
    @classmethod
    def _from_home(cls, value: Path) -> Path:
        return _resolved(value)


class PublishSettings(BaseModel):
    """The public site of results (`otklik publish`, reports/site.py)."""

    dir: Path | None = Field(
        default=None,
        description="Folder the bot regenerates the public site in after each poll window "
        "closes and each closed half-year; unset: only `otklik publish --out DIR` writes it.",
    )
    url: str | None = Field(
        default=None,
        description="Address of the published site; /results links to it when set.",
        examples=["https://example.gov.ru/otklik/"],
    )

    @field_validator("dir")
    @classmethod
    def _from_home(cls, value: Path | None) -> Path | None:
        return _resolved(value) if value is not None else None


class WebSettings(BaseModel):
    """The web front (web/): forms, the publication site, health checks."""

    enabled: bool = Field(
        default=False, description="Start the web server together with the bot (`otklik run`)."
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the web server listens on; keep it local behind a reverse proxy.",
        examples=["127.0.0.1"],
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Port of the web server.")
    public_url: str | None = Field(
        default=None,
        description="Public address of the web server; QR posters of the site channel point "
        "to <public_url>/r/<payload> when set.",
        examples=["https://otklik.example.gov.ru"],
    )
    rate_per_minute: int = Field(
        default=120,
        ge=1,
        description="Requests a minute one address may make (kept in memory only).",
    )

    @field_validator("public_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http:// or https:// URL")
        return value.rstrip("/")


class SchedulerSettings(BaseModel):
    """One scheduler leader among the bot's processes (scheduler/leader.py, storage/leases.py)."""

    lease_seconds: int = Field(
        default=30,
        ge=6,
        le=300,
        description="A leader that stops renewing (killed, cut off) is replaced after this "
        "many seconds; it renews every third of it. PostgreSQL frees the leader's lock at once "
        "when its connection ends.",
    )


class MetricsSettings(BaseModel):
    """Prometheus metrics (services/metrics.py)."""

    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve /metrics on this port (127.0.0.1 unless METRICS__HOST); unset: off.",
        examples=[9108],
    )
    host: str = Field(default="127.0.0.1", description="Address the metrics port listens on.")
    on_web: bool = Field(
        default=False,
        description="Also serve /metrics on the web server (WEB__ENABLED); keep that path "
        "off the public reverse proxy.",
    )


class Settings(BaseSettings):
    """Everything configurable; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(
        env_file=".env",  # in the home folder, see settings_customise_sources
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    bot: BotSettings = Field(default_factory=BotSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    fsm: FsmSettings = Field(default_factory=FsmSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    body: BodySettings = Field(default_factory=BodySettings)
    reports: ReportsSettings = Field(default_factory=ReportsSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    # Factories: defaults that hold paths resolve against the home folder of each load.
    content: ContentSettings = Field(default_factory=ContentSettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    max: MaxSettings = Field(default_factory=MaxSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log_level: str = Field(default="INFO", examples=["INFO"])

    @model_validator(mode="after")
    def _webhook_needs_web(self) -> Settings:
        if self.bot.webhook_url is not None and not self.web.enabled:
            raise ValueError(
                "BOT__WEBHOOK_URL is set but WEB__ENABLED is not true: the webhook is served "
                "by the web server; set WEB__ENABLED=true (and WEB__HOST/WEB__PORT)"
            )
        if self.max.webhook_url is not None and not self.web.enabled:
            raise ValueError(
                "MAX__WEBHOOK_URL is set but WEB__ENABLED is not true: the MAX webhook is "
                "served by the web server; set WEB__ENABLED=true (and WEB__HOST/WEB__PORT)"
            )
        if self.max.webhook_url is not None and self.max.token is None:
            raise ValueError("MAX__WEBHOOK_URL is set but MAX__TOKEN is not: no MAX front runs")
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LEVELS:
            raise ValueError(f"unknown log level; use one of {', '.join(_LEVELS)}")
        return level

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The .env of the home folder, looked up at each load: not the current folder's.
        dotenv = DotEnvSettingsSource(settings_cls, env_file=home() / ".env")
        return init_settings, env_settings, dotenv, file_secret_settings


_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def example_of(variable: str) -> str | None:
    """An example value of a settings variable (BOT__OFFICER_IDS → 123456789,987654321)."""
    parts = variable.lower().split("__")
    model: Any = Settings
    field = None
    for part in parts:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return None
        field = fields[part]
        model = field.annotation
    if field is None:
        return None
    if field.examples:
        return str(field.examples[0])
    default = field.get_default(call_default_factory=True)
    if default is None or isinstance(default, BaseModel):
        return None
    return str(default) if not isinstance(default, bool) else str(default).lower()


def ensure_pepper(settings: Settings, legacy_data_dir: Path | None = None) -> SecretStr:
    """The configured pepper, or the one in ``privacy.pepper_file``, generated there once.

    The file is made readable by its owner only, in a folder only the owner can enter. A pepper
    left by older versions in ``data/pepper.key`` is moved there: losing it would forget staff
    enrollment and open dialogs, and leaving it beside the database would hand it to whoever
    copies the database.
    """
    if settings.privacy.pepper is not None:
        return settings.privacy.pepper
    path = settings.privacy.pepper_file
    legacy = (data_folder() if legacy_data_dir is None else legacy_data_dir) / "pepper.key"
    if not path.exists() and legacy.exists() and legacy.resolve() != path.resolve():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        legacy.replace(path)
        logger.warning("Moved the pepper from %s to %s, away from the database", legacy, path)
    if path.exists():
        return SecretStr(path.read_text(encoding="utf-8").strip())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Created 0600 in one step: no moment at which another user could open it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(value)
    return SecretStr(value)

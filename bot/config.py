"""The bot's settings: the retrieval settings plus Telegram, access and chat state.

Telegram's own variables keep their usual names (`TELEGRAM_BOT_TOKEN`, …);
Sanad's bot settings use the `SANAD_` prefix like the rest. All are documented
in `.env.example`.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from retrieval.config import Settings, load_settings

__all__ = ["BotSettings", "load_bot_settings"]

IdList = Annotated[frozenset[int], NoDecode]


class BotSettings(Settings):
    """Everything `sanad run` and `sanad chat` need."""

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN", description="From @BotFather."
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org",
        validation_alias="TELEGRAM_API_BASE_URL",
        description="Bot API root; methods are called at {root}/bot{token}/{method}.",
    )
    telegram_webhook_url: str | None = Field(
        default=None,
        validation_alias="TELEGRAM_WEBHOOK_URL",
        description="Public URL Telegram posts updates to; unset = long polling.",
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias="TELEGRAM_WEBHOOK_SECRET",
        description="Checked on every webhook request; unset = a random one per start.",
    )
    telegram_webhook_listen: str = Field(
        default="127.0.0.1", validation_alias="TELEGRAM_WEBHOOK_LISTEN"
    )
    telegram_webhook_port: int = Field(
        default=8443, ge=1, le=65535, validation_alias="TELEGRAM_WEBHOOK_PORT"
    )
    allowed_user_ids: IdList = Field(
        default=frozenset(), description="Comma-separated; empty = everyone may use the bot."
    )
    allowed_chat_ids: IdList = Field(
        default=frozenset(), description="Comma-separated group/channel ids; empty = any chat."
    )
    admin_ids: IdList = Field(
        default=frozenset(), description="Users who may add documents; always allowed."
    )
    questions_per_minute: int = Field(default=10, ge=1, le=1000)
    memory_turns: int = Field(default=6, ge=0, le=50)
    memory_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    worker_threads: int = Field(default=4, ge=1, le=64)
    max_upload_bytes: int = Field(default=5_000_000, ge=1_000, le=20_000_000)
    purge_minutes: float = Field(
        default=60.0,
        ge=0.01,
        le=7 * 24 * 60,
        description="How often old answers and expired memory are purged from chat.sqlite3.",
    )

    summary_log_days: float = Field(
        default=7.0, gt=0, le=3650, description="Days a logged group message is kept."
    )
    summary_log_max: int = Field(
        default=10_000, ge=100, le=10_000_000, description="Messages kept per chat, newest."
    )
    nosummary_tag: str = Field(
        default="#nosummary", description="A message holding this is never logged."
    )
    summary_max_messages: int = Field(
        default=5_000, ge=10, le=100_000, description="Most messages one summary covers."
    )
    update_lease_seconds: float = Field(
        default=120.0,
        ge=1,
        le=3600,
        description="With SANAD_DATABASE_URL: an update a replica took up and did not finish "
        "in this time (it died) is taken up by another.",
    )
    replica_beat_seconds: float = Field(
        default=5.0,
        ge=0.1,
        le=600,
        description="With SANAD_DATABASE_URL: how often a replica checks the jobs lock, the "
        "digest schedule, the corpus version and updates left behind.",
    )
    ops_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port for /healthz, /readyz and /metrics (Prometheus); unset = none.",
    )
    ops_listen: str = Field(default="127.0.0.1", description="Address the ops port binds.")
    summaries_per_user: int = Field(default=3, ge=1, le=1000, description="Per 10 minutes.")
    summaries_per_chat: int = Field(default=20, ge=1, le=1000, description="Per 10 minutes.")

    @field_validator("allowed_user_ids", "allowed_chat_ids", "admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """`123, -100456` → {123, -100456}; a stray word is an error naming the variable."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(p) for p in parts if p)
            except ValueError:
                raise ValueError("give numeric Telegram ids separated by commas") from None
        return value

    @field_validator("telegram_webhook_url", "telegram_bot_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("telegram_api_base_url", "telegram_webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("give an http(s) URL, e.g. http://127.0.0.1:8081")
        return value

    @model_validator(mode="after")
    def _replicas_share_a_webhook_secret(self) -> BotSettings:
        if (
            self.database_url is not None
            and self.telegram_webhook_url is not None
            and self.telegram_webhook_secret is None
        ):
            raise ValueError(
                "with SANAD_DATABASE_URL and a webhook, set TELEGRAM_WEBHOOK_SECRET: replicas "
                "must share one secret (each would otherwise make up its own and refuse the "
                "others' updates)"
            )
        return self

    @model_validator(mode="after")
    def _base_url_is_root(self) -> BotSettings:
        if urlsplit(self.telegram_api_base_url).path.rstrip("/").endswith("/bot"):
            raise ValueError(
                "TELEGRAM_API_BASE_URL is the server's root, without /bot: Sanad adds /bot<token>"
            )
        return self

    @property
    def webhook_secret(self) -> str:
        """The configured webhook secret, or one made up for this run."""
        if self.telegram_webhook_secret is None:
            self.telegram_webhook_secret = SecretStr(secrets.token_urlsafe(32))
        return self.telegram_webhook_secret.get_secret_value()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids

    def may_use(self, user_id: int | None, chat_id: int | None) -> bool:
        """With no allowlist everyone may; otherwise admins, listed users and listed chats."""
        if not self.allowed_user_ids and not self.allowed_chat_ids:
            return True
        return (
            self.is_admin(user_id)
            or user_id in self.allowed_user_ids
            or chat_id in self.allowed_chat_ids
        )


def load_bot_settings(**overrides: object) -> BotSettings:
    settings = load_settings(BotSettings, **overrides)
    assert isinstance(settings, BotSettings)
    return settings

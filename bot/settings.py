"""Typed settings from the environment and `.env`, created in `main()`, never at import."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EMBEDDED_MODEL = "embedded:multilingual-e5-small"


class SettingsError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


def _split_ids(value: Any) -> Any:
    """Accept `1,2,3` (what people write in `.env`) as well as a JSON list."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


ADMIN_ENTRY = re.compile(r"(?:(?P<guild>\d{1,20}):)?(?P<user>\d{1,20})")


def _admin_entries(value: Any) -> Any:
    """``guild_id:user_id`` (or a bare ``user_id``) entries, checked for shape."""
    entries = [str(part).strip() for part in _split_ids(value)]
    for entry in entries:
        if not ADMIN_ENTRY.fullmatch(entry):
            raise ValueError(f"{entry!r} is not guild_id:user_id (e.g. 123456789012345678:42)")
    return entries


def web_url(value: str, schemes: tuple[str, ...]) -> str:
    """`value` if it is an absolute URL with one of `schemes` and a host, without spaces
    or control characters (every link and request is built from it); else ValueError."""
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"{value!r} contains spaces or control characters (write %20)")
    prefixes = " or ".join(f"{scheme}://" for scheme in schemes)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a URL ({exc})") from None
    if parts.scheme not in schemes:
        raise ValueError(f"must start with {prefixes}")
    if not parts.hostname:
        raise ValueError(f"{value!r} names no host (e.g. {schemes[-1]}://example.com)")
    return value


class Settings(BaseSettings):
    """Every knob the bot has; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # corpus → passages
    corpus_dir: Path = Path("corpus")
    site_url: str = "http://localhost:4000"
    timezone: str = "Asia/Tokyo"
    passage_chars: int = Field(default=320, ge=80, le=4000)
    passage_overlap_sentences: int = Field(default=1, ge=0, le=5)
    # Following the blog while the bot runs: `watch` reindexes after files change (file
    # events, debounced), `git` pulls the corpus clone every REFRESH_MINUTES and reindexes
    # when its HEAD moved, `off` only on /reindex. A snapshot another process saves (the
    # `reindex` command, a cron job) is picked up in every mode.
    refresh: Literal["watch", "git", "off"] = "watch"
    refresh_minutes: float = Field(default=10.0, gt=0, le=24 * 60)
    announce_channel_id: int | None = None  # new articles are posted there once indexed

    # vectors
    cache_dir: Path = Path("cache")
    embedding_model: str = EMBEDDED_MODEL
    embedding_batch_size: int = Field(default=16, ge=1, le=1024)
    # int8 quantizes the model's Linear layers with torch on the CPU: worse held out (hit@1
    # 0.860 -> 0.846) and no faster than fp32 on ONNX Runtime, so fp32 is the default
    embedding_precision: Literal["int8", "fp32"] = "fp32"
    # pooled: each sentence's vector is pooled from its passage's forward pass (ONNX Runtime)
    # instead of a pass of its own; separate: a pass per sentence (docs/bench.md compares)
    sentence_vectors: Literal["pooled", "separate"] = "separate"
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when torch sees a GPU
    # 0: every core on ONNX Runtime (its idle threads sleep), half of them (at least 1) on torch
    embedding_threads: int = Field(default=0, ge=0, le=256)
    # auto: ONNX Runtime for fp32 on the CPU (same vectors, about twice as fast), else torch
    embedding_runtime: Literal["auto", "torch", "onnx"] = "auto"

    # search
    top_k: int = Field(default=3, ge=1, le=10)
    max_question_chars: int = Field(default=500, ge=20, le=4000)
    answer_threshold: float | None = None  # overrides the calibrated value for the model
    related_threshold: float | None = None
    approximate_index_min_passages: int = Field(default=100_000, ge=0)

    # question log
    question_db: Path = Path("data/questions.db")
    user_hash_salt: SecretStr | None = None
    retention_days: int = Field(default=365, ge=1)
    log_queue_max: int = Field(default=10_000, ge=1)

    # Discord
    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    # only for `python -m bot invite`; read from the token when unset
    discord_application_id: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    # guild_id:user_id; a bare user_id counts only in DISCORD_GUILD_ID (see admin_users)
    admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # a role belongs to one server, so a role id cannot make anyone admin elsewhere
    admin_role_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    ask_cooldown_seconds: float = Field(default=10.0, ge=0)

    # editors' web view
    editors_host: str = "127.0.0.1"
    editors_port: int = Field(default=8001, ge=1, le=65535)
    editors_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    log_level: str = "INFO"

    _split_lists = field_validator(
        "admin_role_ids", "allowed_guild_ids", "editors_allowed_hosts", mode="before"
    )(_split_ids)
    _check_admins = field_validator("admin_user_ids", mode="before")(_admin_entries)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Tokyo)") from exc
        return value

    @field_validator("site_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        return web_url(value, ("http", "https")).rstrip("/")

    @field_validator("discord_api_base")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        return None if value is None else web_url(value, ("http", "https"))

    @field_validator("discord_gateway_url")
    @classmethod
    def _gateway_url(cls, value: str | None) -> str | None:
        return None if value is None else web_url(value, ("ws", "wss"))

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def data_dir(self) -> Path:
        return self.question_db.parent

    def admin_users(self) -> frozenset[tuple[int, int]]:
        """(guild id, user id) pairs from ADMIN_USER_IDS: an admin in one server only.

        A bare user id means DISCORD_GUILD_ID; without it the id would make its owner an
        admin in every server the bot joins, so it is refused.
        """
        pairs: set[tuple[int, int]] = set()
        for entry in self.admin_user_ids:
            match = ADMIN_ENTRY.fullmatch(entry)
            assert match is not None  # checked by the validator
            guild = match["guild"] or self.discord_guild_id
            if guild is None:
                raise SettingsError(
                    f"setting ADMIN_USER_IDS: {entry} names no server; write it as "
                    "guild_id:user_id (or set DISCORD_GUILD_ID for a single-server bot)"
                )
            pairs.add((int(guild), int(match["user"])))
        return frozenset(pairs)

    def guild_allowed(self, guild_id: int | None) -> bool:
        """True unless ALLOWED_GUILD_IDS is set and does not list this server."""
        return not self.allowed_guild_ids or guild_id in self.allowed_guild_ids


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's report into one line that names the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"setting {name}: {message}") from None

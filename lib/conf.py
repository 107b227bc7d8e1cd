"""Process configuration read once from the environment.

Every setting has an embedded default so the API runs locally with no account and no
environment variable; production supplies the real services through the environment
(`.env.example` lists every variable).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TRUE_VALUES = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or empty means the default (as in `.env.example`)."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in TRUE_VALUES


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def default_data_dir() -> Path:
    # Vercel's filesystem is read-only except /tmp.
    if os.environ.get("VERCEL"):
        return Path(tempfile.gettempdir()) / "zest"
    return REPO_ROOT / ".zest"


DEV_SECRET_KEY = "zest-insecure-development-key-change-me-0123456789abcdef"  # noqa: S105


@dataclass(frozen=True, slots=True)
class Config:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    data_dir: Path
    on_vercel: bool
    vercel_env: str
    # relational
    database_url: str
    database_pool_min: int
    database_pool_max: int
    database_pool_timeout: float
    database_transaction_pooler: bool
    # Redis over Upstash REST
    upstash_url: str
    upstash_token: str
    redis_url: str
    # documents
    mongodb_uri: str
    mongodb_db: str
    mongodb_timeout_ms: int
    # files
    blob_token: str
    blob_api_url: str
    media_url: str
    # operations
    sentry_dsn: str
    sentry_environment: str
    sentry_traces_sample_rate: float
    cron_secret: str
    time_zone: str

    @property
    def media_root(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_production(self) -> bool:
        return self.vercel_env == "production"


def load_config() -> Config:
    data_dir = Path(env_str("ZEST_DATA_DIR") or default_data_dir())
    return Config(
        debug=env_bool("ZEST_DEBUG"),
        secret_key=env_str("SECRET_KEY", DEV_SECRET_KEY),
        allowed_hosts=env_list("ALLOWED_HOSTS", "*"),
        data_dir=data_dir,
        on_vercel=bool(os.environ.get("VERCEL")),
        vercel_env=env_str("VERCEL_ENV", "development"),
        database_url=env_str("DATABASE_URL") or f"sqlite:///{data_dir / 'dev.sqlite3'}",
        database_pool_min=env_int("DATABASE_POOL_MIN", 0),
        database_pool_max=env_int("DATABASE_POOL_MAX", 4),
        database_pool_timeout=env_float("DATABASE_POOL_TIMEOUT", 10.0),
        database_transaction_pooler=env_bool("DATABASE_TRANSACTION_POOLER"),
        upstash_url=env_str("UPSTASH_REDIS_REST_URL").rstrip("/"),
        upstash_token=env_str("UPSTASH_REDIS_REST_TOKEN"),
        redis_url=env_str("REDIS_URL"),
        mongodb_uri=env_str("MONGODB_URI"),
        mongodb_db=env_str("MONGODB_DB", "zest"),
        mongodb_timeout_ms=env_int("MONGODB_TIMEOUT_MS", 3000),
        blob_token=env_str("BLOB_READ_WRITE_TOKEN"),
        blob_api_url=env_str("VERCEL_BLOB_API_URL"),
        media_url=env_str("MEDIA_URL", "/media/"),
        sentry_dsn=env_str("SENTRY_DSN"),
        sentry_environment=env_str("SENTRY_ENVIRONMENT", env_str("VERCEL_ENV", "development")),
        sentry_traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
        cron_secret=env_str("CRON_SECRET"),
        time_zone="Asia/Dhaka",
    )


config = load_config()

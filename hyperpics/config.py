"""Configuration: defaults, overridden by ``HYPERPICS_*`` environment variables.

Every setting has one name, used the same way in code, in the environment (with the
``HYPERPICS_`` prefix) and in the README's table.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PREFIX = "HYPERPICS_"


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot work."""


def _as_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected a boolean, got {value!r}")


def defaults(instance_path: Path) -> dict[str, Any]:
    return {
        # "development" (the default) or "production"; only development may generate a secret.
        "ENV": "development",
        "SECRET_KEY": None,
        "DATABASE_URL": f"sqlite+aiosqlite:///{instance_path / 'hyperpics.db'}",
        # Connections per process: kept open, extra ones beyond, and how long a request
        # waits for one before it answers 503.
        "DB_POOL_SIZE": 10,
        "DB_MAX_OVERFLOW": 10,
        "DB_POOL_TIMEOUT": 10,
        # Seconds a writer waits for a lock (SQLite's write lock, a PostgreSQL row) before 503.
        "DB_LOCK_TIMEOUT": 5.0,
        "MEDIA_DIR": str(instance_path / "media"),
        # A reverse proxy's internal location for MEDIA_DIR (nginx X-Accel-Redirect), e.g.
        # "/_protected_media/": the media views check who may see a file, then let nginx send it.
        "MEDIA_ACCEL_REDIRECT": "",
        "BROADCAST_URL": "memory://",
        "BASE_URL": "http://127.0.0.1:5000",
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_USE_TLS": False,
        "MAIL_SENDER": "hyperpics <no-reply@localhost>",
        "MAIL_TIMEOUT": 10,
        "ADMIN_EMAIL": None,
        "MAX_UPLOAD_MB": 20,
        "MAX_UPLOAD_FILES": 30,
        # Requests per window for the endpoints people can hammer (login, mail senders).
        "RATE_LIMITS_ENABLED": True,
        # Seconds a password login stays "fresh" for sensitive changes.
        "FRESH_LOGIN_SECONDS": 600,
        # Remember-me cookie lifetime.
        "REMEMBER_DAYS": 30,
        # argon2 cost: "standard", or "fast" for test suites (refused in production).
        "PASSWORD_HASHING": "standard",
        # Longest an anonymous page is served from memory (any change in what it shows
        # retires it at once; this bounds changes made outside the site). 0 turns it off.
        "PAGE_CACHE_SECONDS": 60,
        # Slow work or rendering inside a write transaction raises instead of logging (tests).
        "STRICT_TRANSACTIONS": False,
    }


# Types used to parse environment strings; anything not listed is a string.
_TYPES: dict[str, type] = {
    "MAIL_PORT": int,
    "MAIL_USE_TLS": bool,
    "MAIL_TIMEOUT": int,
    "MAX_UPLOAD_MB": int,
    "MAX_UPLOAD_FILES": int,
    "RATE_LIMITS_ENABLED": bool,
    "FRESH_LOGIN_SECONDS": int,
    "REMEMBER_DAYS": int,
    "DB_POOL_SIZE": int,
    "DB_MAX_OVERFLOW": int,
    "DB_POOL_TIMEOUT": int,
    "DB_LOCK_TIMEOUT": float,
    "STRICT_TRANSACTIONS": bool,
    "PAGE_CACHE_SECONDS": int,
}


def from_environment(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ if environ is None else environ)
    config = defaults(instance_path)
    for key in config:
        raw = environ.get(PREFIX + key)
        if raw is None:
            continue
        kind = _TYPES.get(key, str)
        try:
            if kind is bool:
                config[key] = _as_bool(raw)
            elif kind is int:
                config[key] = int(raw)
            elif kind is float:
                config[key] = float(raw)
            else:
                config[key] = raw
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{PREFIX}{key}: {exc}") from None
    return config


def resolve_secret_key(config: dict[str, Any], instance_path: Path) -> str:
    """Return the secret key; in development generate one once and keep it in instance/."""
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    if config.get("ENV") != "development":
        raise ConfigError(
            f"{PREFIX}SECRET_KEY is not set. Outside development hyperpics will not start "
            "without it; generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions: the key signs sessions and mail links.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def validate(config: dict[str, Any]) -> None:
    if config["ENV"] not in {"development", "production"}:
        raise ConfigError(f"{PREFIX}ENV must be 'development' or 'production', not {config['ENV']!r}")
    if config["MAX_UPLOAD_MB"] < 1 or config["MAX_UPLOAD_FILES"] < 1:
        raise ConfigError(f"{PREFIX}MAX_UPLOAD_MB and {PREFIX}MAX_UPLOAD_FILES must be at least 1")
    if config["PASSWORD_HASHING"] not in {"standard", "fast"}:
        raise ConfigError(f"{PREFIX}PASSWORD_HASHING must be 'standard' or 'fast', not {config['PASSWORD_HASHING']!r}")
    if config["PASSWORD_HASHING"] != "standard" and config["ENV"] == "production":
        raise ConfigError(f"{PREFIX}PASSWORD_HASHING=fast is for test suites only, never in production")
    if config["DB_POOL_SIZE"] < 1 or config["DB_MAX_OVERFLOW"] < 0 or config["DB_POOL_TIMEOUT"] < 1:
        raise ConfigError(
            f"{PREFIX}DB_POOL_SIZE and {PREFIX}DB_POOL_TIMEOUT must be at least 1, {PREFIX}DB_MAX_OVERFLOW at least 0"
        )
    if not 0 <= config["PAGE_CACHE_SECONDS"] <= 3600:
        raise ConfigError(f"{PREFIX}PAGE_CACHE_SECONDS must be between 0 (off) and 3600")
    if not 0 < config["DB_LOCK_TIMEOUT"] <= 600:
        raise ConfigError(f"{PREFIX}DB_LOCK_TIMEOUT must be between 0 and 600 seconds")
    accel = config["MEDIA_ACCEL_REDIRECT"] or ""
    if accel and not (accel.startswith("/") and accel.endswith("/")):
        raise ConfigError(
            f"{PREFIX}MEDIA_ACCEL_REDIRECT must start and end with '/' (like /_protected_media/), not {accel!r}"
        )
    url = str(config["DATABASE_URL"])
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise ConfigError(f"{PREFIX}DATABASE_URL must use sqlite+aiosqlite:// or postgresql+asyncpg://, not {url!r}")

"""Strict parsers for environment variables.

A wrong value is an error at start-up, not a silent default: every parser raises
``ImproperlyConfigured`` naming the variable and what it expected.
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

# Every variable Duban reads. docs/configuration.md documents each one (a test checks).
KNOWN: dict[str, str] = {}


def _raw(name: str, doc: str) -> str | None:
    KNOWN[name] = doc
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None, doc: str) -> str | None:
    value = _raw(name, doc)
    return default if value is None else value


def env_bool(name: str, default: bool, doc: str) -> bool:
    value = _raw(name, doc)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, doc: str, *, minimum: int | None = None) -> int:
    value = _raw(name, doc)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: must be at least {minimum}")
    return number


def env_list(name: str, default: list[str], doc: str) -> list[str]:
    value = _raw(name, doc)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_date(name: str, doc: str) -> dt.date | None:
    value = _raw(name, doc)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a date as YYYY-MM-DD") from None


def env_choice(name: str, default: str, choices: tuple[str, ...], doc: str) -> str:
    value = _raw(name, doc)
    if value is None:
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def parse_database_url(url: str, *, name: str = "DATABASE_URL") -> dict:
    """postgres://user:pass@host:port/db?sslmode=require -> Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name}: unsupported scheme {parsed.scheme!r} (use postgres:// or sqlite:///path)"
        )
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy writes them.
        path = unquote(parsed.path)[1:]
        if not path:
            raise ImproperlyConfigured(f"{name}: sqlite URL needs a file path")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    dbname = unquote(parsed.path.lstrip("/"))
    if not dbname:
        raise ImproperlyConfigured(f"{name}: a database name is required (postgres://.../NAME)")
    try:
        port = parsed.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port is not a number") from None
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "duban.core.postgresql",
        "NAME": dbname,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
    }

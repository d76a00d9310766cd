"""Settings of the cases module, each read once from the environment through the strict
parsers of duban/env.py (docs/cases.md lists them). Code reads them as ``conf.NAME`` at
call time, so that tests can change them with monkeypatch."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ImproperlyConfigured

from duban.env import env_int, env_str


def parse_periods(name: str, raw: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """'09:00-12:00,13:30-18:00' -> ((9:00, 12:00), (13:30, 18:00)); ordered, not overlapping."""
    periods = []
    for part in raw.split(","):
        part = part.strip()
        try:
            start_text, end_text = part.split("-")
            start = dt.time.fromisoformat(start_text.strip())
            end = dt.time.fromisoformat(end_text.strip())
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}={raw!r}: expected periods like 09:00-12:00,13:30-18:00"
            ) from None
        if end <= start:
            raise ImproperlyConfigured(f"{name}={raw!r}: {part} ends before it starts")
        if periods and start < periods[-1][1]:
            raise ImproperlyConfigured(f"{name}={raw!r}: periods must be in order, not overlapping")
        periods.append((start, end))
    return tuple(periods)


def parse_weights(name: str, raw: str, keys: tuple[str, ...]) -> dict[str, int]:
    """'response=20,ontime=30,...' -> {'response': 20, ...}; every key once, sum > 0."""
    weights = {}
    for part in raw.split(","):
        key, sep, value = part.strip().partition("=")
        key = key.strip()
        if not sep or key not in keys or key in weights or not value.strip().isdigit():
            raise ImproperlyConfigured(
                f"{name}={raw!r}: expected {','.join(k + '=N' for k in keys)} with whole numbers"
            )
        weights[key] = int(value)
    if set(weights) != set(keys) or sum(weights.values()) == 0:
        raise ImproperlyConfigured(f"{name}={raw!r}: give every one of {', '.join(keys)}")
    return weights


def _percent(name: str, default: int, doc: str, *, low: int = 0, high: int = 100) -> int:
    value = env_int(name, default, doc, minimum=low)
    if value > high:
        raise ImproperlyConfigured(f"{name}={value!r}: must be at most {high}")
    return value


WORKING_HOURS = parse_periods(
    "DUBAN_CASES_WORKING_HOURS",
    env_str(
        "DUBAN_CASES_WORKING_HOURS",
        "09:00-12:00,13:30-18:00",
        "Working periods of a working day, local time, for deadlines in working hours and days.",
    ),
)
YELLOW_PERCENT = _percent(
    "DUBAN_CASES_YELLOW_PERCENT",
    80,
    "Share of a limit used (percent) from which a case shows yellow.",
    low=1,
    high=99,
)
REOPEN_DAYS = env_int(
    "DUBAN_CASES_REOPEN_DAYS",
    15,
    "Days after resolution during which the citizen can give feedback or reopen.",
    minimum=1,
)
BASIC_SATISFIED_PERCENT = _percent(
    "DUBAN_CASES_BASIC_SATISFIED_PERCENT",
    80,
    "Weight (percent) of a 'basically satisfied' answer in the satisfaction rate.",
)
KPI_KEYS = ("response", "resolution", "satisfaction", "ontime")
KPI_WEIGHTS = parse_weights(
    "DUBAN_CASES_KPI_WEIGHTS",
    env_str(
        "DUBAN_CASES_KPI_WEIGHTS",
        "response=20,resolution=25,satisfaction=30,ontime=25",
        "Weights of the composite case score.",
    ),
    KPI_KEYS,
)
DUPLICATE_DAYS = env_int(
    "DUBAN_CASES_DUPLICATE_DAYS",
    7,
    "A case of the same category at the same place within this many days is a possible duplicate.",
    minimum=0,
)
DUPLICATE_RADIUS_M = env_int(
    "DUBAN_CASES_DUPLICATE_RADIUS_M",
    100,
    "Radius in metres within which two cases with coordinates are at the same place.",
    minimum=0,
)
PHOTO_MAX_BYTES = env_int(
    "DUBAN_CASES_PHOTO_MAX_BYTES",
    5 * 1024 * 1024,
    "Largest photo accepted with a case, in bytes.",
    minimum=1024,
)
OPEN311_JURISDICTION = env_str(
    "DUBAN_CASES_OPEN311_JURISDICTION",
    "",
    "The jurisdiction_id this Open311 endpoint answers to (empty: any).",
)
OPEN311_CONTACT = env_str(
    "DUBAN_CASES_OPEN311_CONTACT",
    "12345 政务服务便民热线",
    "Contact shown in the Open311 discovery document.",
)

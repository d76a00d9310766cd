"""Commitments whose figure Duban already knows: a metric of its own data (the project
pipeline, the case KPIs) feeds the commitment instead of a hand report.

Each module offers a registry `METRICS: dict[str, Callable[[int, date], Decimal | None]]`
(plan year, as-of date -> value)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from decimal import Decimal

PROVIDERS = ("duban.projects.metrics", "duban.cases.metrics")


def registry() -> dict[str, Callable[[int, dt.date], Decimal | None]]:
    found: dict[str, Callable] = {}
    for module_name in PROVIDERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.update(getattr(module, "METRICS", {}))
    return found


def metric_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in sorted(registry())]


def metric_value(key: str, year: int, as_of: dt.date) -> Decimal | None:
    function = registry().get(key)
    if function is None:
        return None
    value = function(year, as_of)
    return None if value is None else Decimal(str(value))

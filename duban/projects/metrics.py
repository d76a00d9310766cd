"""Metrics of the pipeline that a plan commitment can be bound to (Commitment.metric with a
computed data source): each takes the plan year and a day and returns a Decimal computed
by the database.

- ``projects.new_start_rate``: % of the year's new-start projects (新开工) started as of the day.
- ``projects.new_start_rate_by_q3``: the same, counting only starts on or before 09-30.
- ``projects.preparatory_start_rate``: % of the year's preparatory projects (前期) started.
- ``projects.investment_completed``: 元 completed this year (approved monthly reports).
- ``projects.investment_share_of_plan``: that amount as a % of this year's planned investment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from duban.projects import freshness, selectors

Metric = Callable[[int, dt.date], Decimal]


def _investment_share(plan_year: int, as_of: dt.date) -> Decimal:
    return selectors.investment_summary(plan_year, as_of).share_of_plan


def _cached(name: str, function: Metric) -> Metric:
    # A plan's status reads these on every view; cached under the pipeline's version
    # (freshness.py), they are computed again only after the pipeline changed.
    def metric(plan_year: int, as_of: dt.date) -> Decimal:
        return freshness.cached(
            "metric", name, plan_year, as_of, compute=lambda: function(plan_year, as_of)
        )

    return metric


# Each computed by the database in a fixed number of queries.
COMPUTE: dict[str, Metric] = {
    "projects.new_start_rate": selectors.new_start_rate,
    "projects.new_start_rate_by_q3": selectors.new_start_rate_by_q3,
    "projects.preparatory_start_rate": selectors.preparatory_start_rate,
    "projects.investment_completed": selectors.investment_completed,
    "projects.investment_share_of_plan": _investment_share,
}
METRICS: dict[str, Metric] = {name: _cached(name, f) for name, f in COMPUTE.items()}

# The unit each metric is in, for a commitment bound to it.
UNITS: dict[str, str] = {
    "projects.new_start_rate": "%",
    "projects.new_start_rate_by_q3": "%",
    "projects.preparatory_start_rate": "%",
    "projects.investment_completed": "元",
    "projects.investment_share_of_plan": "%",
}

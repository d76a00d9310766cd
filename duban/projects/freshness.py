"""Caching of pipeline aggregates that never serves a stale figure.

The cockpit and the evaluation read the same pipeline aggregates (funnel, starts,
investment, late projects) on every view, and the pipeline changes a few times a day (a
monthly report, a date reached), while a full pass over 10,000 projects and their reports
costs about as much as the rest of the cockpit. So the aggregates are cached under a key
that holds the pipeline's version token, which every write to a project, an approval step,
a monthly report, a problem or a department replaces in the same transaction. A change
that commits changes the key; a figure cached before it is never read again.

Every ORM save and delete is caught by the signals connected in ``ProjectsConfig.ready``
(cache invalidation, not business logic). Bulk writes, which send no signals, call
``pipeline_changed()`` themselves (the demo builder and the benchmarks do).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache

from duban.core import versions
from duban.projects.models import PipelineVersion

# Long enough for a day's cockpit views; the token, not the timeout, keeps figures fresh.
TIMEOUT = 24 * 3600


def pipeline_changed(**_signal_kwargs) -> None:
    versions.token_replace(PipelineVersion)


def version() -> str:
    return versions.token_read(PipelineVersion)


def cached(name: str, *parts, compute: Callable[[], object]):
    """compute(), cached under `name`, `parts` and the pipeline's version."""
    key = ":".join(["pipeline", name, *map(str, parts), version()])
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TIMEOUT)
    return value


def connect() -> None:
    from duban.accounts.models import Department
    from duban.projects.models import ApprovalStep, MonthlyReport, Problem, Project

    versions.replace_on_writes(
        pipeline_changed,
        (Project, ApprovalStep, MonthlyReport, Problem, Department),
        uid="pipeline-freshness",
    )

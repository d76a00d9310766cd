"""Caching of pipeline aggregates that never serves a stale figure.

The cockpit and the evaluation read the same pipeline aggregates (funnel, starts,
investment, late projects) on every view, and the pipeline changes a few times a day (a
monthly report, a date reached), while a full pass over 10,000 projects and their reports
costs about as much as the rest of the cockpit. So the aggregates are cached under a key
that holds the pipeline's stamp (``duban.core.stamps``), which database triggers renew, in
the writer's transaction, on every insert, update or delete of a project, an approval
step, a monthly report, a problem or a department — through the services, bulk writes,
the admin or plain SQL alike. The stamp is read before the figure is computed, so a change
that commits changes the key; a figure cached before it is never read again. Writers have
nothing to call.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection

from duban.core import stamps

# Long enough for a day's cockpit views; the stamp, not the timeout, keeps figures fresh.
TIMEOUT = 24 * 3600


def pipeline_changed() -> None:
    """Renew the pipeline's stamp by hand. No writer needs it (triggers do it); tests and
    benchmarks use it to measure the computing path."""
    stamps.renew("pipeline", using=connection.alias)


def version() -> int | None:
    return stamps.read("pipeline", using=connection.alias)


def cached(name: str, *parts, compute: Callable[[], object]):
    """compute(), cached under `name`, `parts` and the pipeline's stamp (computed every
    time where there is no stamp to trust)."""
    stamp = version()
    if stamp is None:
        return compute()
    key = ":".join(["pipeline", name, *map(str, parts), str(stamp)])
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TIMEOUT)
    return value

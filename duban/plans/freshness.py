"""The status of a whole plan, remembered per worker under the plan data's version.

Every view of the overview, the cockpit and the evaluation needs the status of every
commitment as of a day: with 5,000 commitments that is most of a page's time, while the
data behind it change a few times an hour (a report approved, a commitment assigned). So a
worker keeps the rows it computed, in memory, under a key holding the day and two version
tokens: the plans' (replaced by every save or delete of a plan, a commitment, its
co-departments, a progress report or a department, in the same transaction) and the
pipeline's (the figures of commitments computed from projects). A change that commits
changes the key: remembered rows are never served after the data behind them changed.

Signals catch every ORM save and delete (cache invalidation, not business logic); bulk
writers call ``plans_changed()`` themselves (the tracking demo and the benchmarks do).
"""

from __future__ import annotations

from collections import OrderedDict

from django.db import connection

from duban.core import versions
from duban.plans.models import PlanVersion

# A few (plan, day) pairs per worker: today's and the days leaders look back at.
SIZE = 8
_remembered: OrderedDict = OrderedDict()


def plans_changed(**_signal_kwargs) -> None:
    versions.token_replace(PlanVersion)


def version() -> str:
    return versions.token_read(PlanVersion)


def remembered(plan_id: int, as_of, compute):
    """compute(), or the rows this worker computed for the same plan, day and versions."""
    from duban.projects import freshness as pipeline

    key = (connection.alias, connection.settings_dict["NAME"], plan_id, as_of)
    key += (version(), pipeline.version())
    rows = _remembered.get(key)
    if rows is None:
        rows = compute()
        _remembered[key] = rows
        while len(_remembered) > SIZE:
            _remembered.popitem(last=False)
    else:
        _remembered.move_to_end(key)
    return list(rows)


def connect() -> None:
    from django.db.models.signals import m2m_changed

    from duban.accounts.models import Department
    from duban.plans.models import Commitment, Plan, ProgressReport

    versions.replace_on_writes(
        plans_changed, (Plan, Commitment, ProgressReport, Department), uid="plans-freshness"
    )
    m2m_changed.connect(
        plans_changed,
        sender=Commitment.co_departments.through,
        dispatch_uid="plans-freshness-co-departments",
    )

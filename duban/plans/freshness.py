"""The status of a whole plan, remembered per worker under the plans' and the pipeline's
stamps.

Every view of the overview, the cockpit and the evaluation needs the status of every
commitment as of a day: with 5,000 commitments that is most of a page's time, while the
data behind it change a few times an hour (a report approved, a commitment assigned). So a
worker keeps the rows it computed, in memory, under a key holding the day and two stamps
(``duban.core.stamps``): the plans' and the pipeline's (the figures of commitments computed
from projects). Database triggers renew the plans' stamp, in the writer's transaction, on
every insert, update or delete of a plan, a commitment, its co-departments, a progress
report or a department — through the services, bulk writes, the admin or plain SQL alike.
The stamps are read before the rows are computed, so a change that commits changes the
key: remembered rows are never served after the data behind them changed. Writers have
nothing to call.
"""

from __future__ import annotations

from collections import OrderedDict

from django.db import connection

from duban.core import stamps


class Memo:
    """A few dictionaries a worker keeps, each under a key; the least recently used is
    dropped. Here for the whole plan's rows, and in selectors for each row."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._memos: OrderedDict = OrderedDict()

    def get(self, key, default=None):
        memo = self._memos.get(key)
        if memo is None:
            return default
        try:
            self._memos.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile: still valid
            pass
        return memo

    def put(self, key, value) -> None:
        self._memos[key] = value
        self._memos.move_to_end(key)
        while len(self._memos) > self.size:
            self._memos.popitem(last=False)

    def clear(self) -> None:
        self._memos.clear()


# A few (plan, day) pairs per worker: today's and the days leaders look back at.
SIZE = 8
_remembered = Memo(SIZE)


def plans_changed() -> None:
    """Renew the plans' stamp by hand. No writer needs it (triggers do it); tests and
    benchmarks use it to measure the computing path."""
    stamps.renew("plans", using=connection.alias)


def version() -> int | None:
    return stamps.read("plans", using=connection.alias)


def remembered(plan_id, as_of, compute):
    """compute(), or the rows this worker computed for the same plan, day and stamps
    (computed every time where there are no stamps to trust). `plan_id` is any hashable
    identity of the plan as read (its key, and what the rows depend on besides the
    stamps)."""
    versions = stamps.read_many(("plans", "pipeline"), using=connection.alias)
    if versions is None:
        return list(compute())
    key = (connection.alias, connection.settings_dict["NAME"], plan_id, as_of, versions)
    rows = _remembered.get(key)
    if rows is None:
        rows = compute()
        _remembered.put(key, rows)
    return list(rows)

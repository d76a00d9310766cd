"""E-supervision lights (电子监察): green, yellow from conf.YELLOW_PERCENT of the limit used,
red when overdue — for the response and for the resolution, as of duban.clock.

The yellow point of each limit is stored with the case (``*_warn_at``, computed with the
deadline in the limit's own kind of time), so lights are plain comparisons, in Python for
one case and in SQL for lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from duban import clock
from duban.cases.models import RUNNING_STATUSES, Case, Status

LABELS = {
    "green": _("on time"),
    "yellow": _("due soon"),
    "red": _("overdue"),
    "done": _("done in time"),
    "late": _("done late"),
    "paused": _("suspended"),
    "none": _("no deadline yet"),
    "void": _("void"),
}


@dataclass(frozen=True)
class Light:
    colour: str
    deadline: dt.datetime | None

    @property
    def label(self):
        return LABELS[self.colour]


def _light(deadline, warn_at, done_at, now, *, status) -> Light:
    if done_at is not None:
        return Light("done" if deadline is None or done_at <= deadline else "late", deadline)
    if status == Status.VOID:
        return Light("void", deadline)
    if deadline is None:
        return Light("none", None)
    if status == Status.SUSPENDED:
        return Light("paused", deadline)
    if now >= deadline:
        return Light("red", deadline)
    if warn_at is not None and now >= warn_at:
        return Light("yellow", deadline)
    return Light("green", deadline)


def response_light(case: Case, now: dt.datetime | None = None) -> Light:
    now = now or clock.now()
    return _light(
        case.response_deadline, case.response_warn_at, case.responded_at, now, status=case.status
    )


def resolution_light(case: Case, now: dt.datetime | None = None) -> Light:
    now = now or clock.now()
    return _light(
        case.resolution_deadline,
        case.resolution_warn_at,
        case.resolved_at,
        now,
        status=case.status,
    )


def overdue_condition(now: dt.datetime) -> Q:
    """Past the response or the resolution deadline, whatever the status (lists combine it
    with one status at a time, so that each part reads the status index)."""
    return Q(responded_at__isnull=True, response_deadline__lte=now) | Q(
        resolved_at__isnull=True, resolution_deadline__lte=now
    )


def yellow_condition(now: dt.datetime) -> Q:
    """Past a yellow point and not overdue, whatever the status."""
    return (
        ~Q(responded_at__isnull=True, response_deadline__lte=now)
        & ~Q(resolved_at__isnull=True, resolution_deadline__lte=now)
        & (
            Q(responded_at__isnull=True, response_warn_at__lte=now)
            | Q(resolved_at__isnull=True, resolution_warn_at__lte=now)
        )
    )


def overdue_q(now: dt.datetime | None = None) -> Q:
    """Open, not suspended, and past the response or the resolution deadline: the same
    cases as ``Q(status__in=RUNNING_STATUSES) & overdue_condition(now)``, read from the partial
    index of ``Case.overdue_at`` (only the cases with a deadline to meet are in it)."""
    now = now or clock.now()
    return Q(overdue_at__lte=now)


def yellow_q(now: dt.datetime | None = None) -> Q:
    now = now or clock.now()
    return Q(status__in=RUNNING_STATUSES) & yellow_condition(now)

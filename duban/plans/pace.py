"""Pace (序时进度), status lights and year-end forecasts. Pure functions: no database.

The rules follow ../shared/spec/status-rules.md:
- Expected progress is the elapsed share of the period, from the plan year's start to the
  commitment's deadline: linear in days by default, or a seasonal profile (the monthly shares
  of last year's actuals), or a per-commitment monthly plan.
- Progress counts from the start value: zero for amounts that accumulate during the year
  (新增停车位, 地区生产总值 year to date), last year's value for rates and stocks (覆盖率).
- A report is compared with the pace at the end of the period it reports on, not with today:
  August's cumulative figure is judged against the end of August.
- Growth targets are judged by the gap in points, not scaled by time.
- Lower-is-better targets (le, lt) are good when low; they are ceilings kept all year.
- Milestones: due and not done -> yellow; still not done a grace period later -> red.

No database here; only the reasons are translated.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from django.utils.translation import gettext, gettext_noop

GREEN, YELLOW, RED, GREY = "green", "yellow", "red", "grey"
STATUS_ORDER = {RED: 0, YELLOW: 1, GREEN: 2, GREY: 3}


@dataclass(frozen=True)
class Thresholds:
    yellow_ratio: Decimal = Decimal("0.8")  # at least 80% of the expected progress is yellow
    milestone_red_days: int = 90  # a missed milestone turns red this many days after its deadline
    report_grace_days: int = 5  # a period's report is due this many days after the period ends


class Reason(NamedTuple):
    """Why a status is what it is, translated when shown: a plan's overview assesses
    thousands of commitments and shows fifty, and translating every reason cost more than
    the assessment itself."""

    msgid: str
    params: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        text = gettext(self.msgid)
        return text % dict(self.params) if self.params else text


def _(msgid: str, **params) -> Reason:
    return Reason(gettext_noop(msgid), tuple(params.items()))


# Target, Observation and Assessment are named tuples rather than frozen dataclasses: as
# immutable, and a cold plan overview builds one of each per commitment, where a frozen
# dataclass's field-by-field __init__ cost three times as much.
class Target(NamedTuple):
    measure: str  # level | growth | share | milestone
    comparator: str | None
    value: Decimal | None
    upper: Decimal | None
    deadline: dt.date
    year_start: dt.date
    baseline: Decimal | None = None
    from_baseline: bool = False  # progress counts from last year's value, not from zero
    profile: tuple[Decimal, ...] | None = None  # 12 monthly shares (seasonal), sum 1
    monthly_plan: tuple[Decimal | None, ...] | None = None  # 12 planned cumulative values


class Observation(NamedTuple):
    period_end: dt.date
    value: Decimal | None  # cumulative amount, year-to-date growth or current rate
    done_date: dt.date | None = None  # milestones


class Assessment(NamedTuple):
    status: str
    reason: Reason
    expected_fraction: Decimal  # 序时进度 at the date judged (0..1)
    expected_value: Decimal | None
    progress: Decimal | None  # share of the way to the target achieved (0..1+)
    achieved: bool
    forecast: Decimal | None
    forecast_attainment: Decimal | None


def _days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def expected_fraction(target: Target, on: dt.date) -> Decimal:
    """Share of the work that should be done by the end of day `on`."""
    return _fraction(target.year_start, target.deadline, target.profile, on)


@lru_cache(maxsize=4096)
def _fraction(start: dt.date, end: dt.date, profile: tuple | None, on: dt.date) -> Decimal:
    # Cached: a plan's thousands of commitments share a handful of deadlines and dates.
    if on < start:
        return Decimal(0)
    if on >= end:
        return Decimal(1)
    if profile and end.year == start.year and end.month == 12 and end.day == 31:
        done = sum(profile[: on.month - 1], Decimal(0))
        days_in_month = calendar.monthrange(on.year, on.month)[1]
        done += profile[on.month - 1] * Decimal(on.day) / Decimal(days_in_month)
        return min(Decimal(1), done)
    total = _days(start, end) + 1
    return Decimal(_days(start, on) + 1) / Decimal(total)


def _start_value(target: Target) -> Decimal:
    if target.from_baseline and target.baseline is not None:
        return target.baseline
    return Decimal(0)


def _goal(target: Target) -> Decimal:
    # A range counts from its lower bound.
    return target.value


def expected_value(target: Target, on: dt.date) -> Decimal:
    if target.monthly_plan and on.year == target.year_start.year:
        planned = target.monthly_plan[on.month - 1]
        if planned is not None and on == month_end(on.year, on.month):
            return planned
        previous = target.monthly_plan[on.month - 2] if on.month > 1 else _start_value(target)
        if planned is not None and previous is not None:
            days_in_month = calendar.monthrange(on.year, on.month)[1]
            return previous + (planned - previous) * Decimal(on.day) / Decimal(days_in_month)
    start = _start_value(target)
    return start + (_goal(target) - start) * expected_fraction(target, on)


def meets(
    comparator: str | None, actual: Decimal, value: Decimal, upper: Decimal | None = None
) -> bool:
    """Whether a figure satisfies the target as the comparator reads."""
    if comparator == "gt":
        return actual > value
    if comparator == "le":
        return actual <= value
    if comparator == "lt":
        return actual < value
    # eq (达到), ge, about, between: reaching the (lower) figure is meeting it.
    return actual >= value


def lower_is_better(comparator: str | None) -> bool:
    return comparator in ("le", "lt")


def _forecast(target: Target, obs: Observation) -> Decimal | None:
    if obs.value is None:
        return None
    if target.measure == "growth" or lower_is_better(target.comparator):
        return obs.value  # a rate or ceiling: the latest reading is the best guess
    fraction = expected_fraction(target, obs.period_end)
    if target.monthly_plan and target.monthly_plan[-1] is not None:
        planned_now = expected_value(target, obs.period_end)
        start = _start_value(target)
        if planned_now != start:
            return start + (obs.value - start) * (target.monthly_plan[-1] - start) / (
                planned_now - start
            )
    if fraction <= 0:
        return None
    start = _start_value(target)
    return start + (obs.value - start) / fraction


def _attainment(target: Target, forecast: Decimal | None) -> Decimal | None:
    if forecast is None or target.value is None:
        return None
    if target.measure == "growth":
        return None  # judged in points, not as a ratio
    start = _start_value(target)
    if lower_is_better(target.comparator):
        return (target.value / forecast) if forecast > 0 else None
    span = target.value - start
    if span == 0:
        return None
    return (forecast - start) / span


def assess(
    target: Target,
    latest: Observation | None,
    on: dt.date,
    thresholds: Thresholds = Thresholds(),
) -> Assessment:
    """The status of one commitment as of `on`, from its latest approved observation."""
    fraction = expected_fraction(target, on)

    if target.measure == "milestone":
        done = latest.done_date if latest else None
        if done is not None and done <= on:
            status, reason = GREEN, (_("done") if done <= target.deadline else _("done late"))
            return Assessment(status, reason, fraction, None, Decimal(1), True, None, None)
        if on <= target.deadline:
            return Assessment(GREY, _("not due yet"), fraction, None, None, False, None, None)
        late = _days(target.deadline, on)
        status = RED if late > thresholds.milestone_red_days else YELLOW
        return Assessment(
            status,
            _("%(n)s days past its deadline", n=late),
            fraction,
            None,
            None,
            False,
            None,
            None,
        )

    if latest is None or latest.value is None:
        if on > target.deadline:
            return Assessment(
                RED, _("deadline passed with no report"), fraction, None, None, False, None, None
            )
        return Assessment(
            GREY, _("no figure reported yet"), fraction, None, None, False, None, None
        )

    actual = latest.value
    value = target.value
    achieved = meets(target.comparator, actual, value, target.upper)
    forecast = _forecast(target, latest)
    attainment = _attainment(target, forecast)
    judged_on = min(latest.period_end, target.deadline)
    expected = expected_value(target, judged_on) if target.measure != "growth" else value

    def result(status, reason, progress=None):
        return Assessment(
            status, reason, fraction, expected, progress, achieved, forecast, attainment
        )

    if target.measure == "growth":
        # 天津's rule: at or above plan is green; short of plan but on the right side of
        # zero is yellow; on the wrong side of zero is red.
        gap = actual - value
        if achieved:
            return result(GREEN, _("%(gap)s points against the target", gap=f"{gap:+.1f}"))
        right_side = actual < 0 if lower_is_better(target.comparator) else actual > 0
        if on > target.deadline:
            return result(RED, _("deadline passed below the target"))
        return result(
            YELLOW if right_side else RED,
            _("%(gap)s points against the target", gap=f"{gap:+.1f}"),
        )

    if lower_is_better(target.comparator):
        if achieved:
            return result(GREEN, _("within the ceiling"))
        limit = value / thresholds.yellow_ratio if value > 0 else value
        if actual <= limit and on <= target.deadline:
            return result(YELLOW, _("above the ceiling, within tolerance"))
        return result(RED, _("above the ceiling"))

    if achieved:
        return result(GREEN, _("target met"))
    if on > target.deadline:
        return result(RED, _("deadline passed unmet"))
    start = _start_value(target)
    needed = expected - start
    if needed <= 0:
        return result(GREEN, _("on pace"), None)
    progress = (actual - start) / needed
    if progress >= 1:
        return result(GREEN, _("on or ahead of pace"), progress)
    if progress >= thresholds.yellow_ratio:
        return result(YELLOW, _("behind pace, within tolerance"), progress)
    return result(RED, _("behind pace"), progress)


def seasonal_profile(monthly_values: list[Decimal]) -> tuple[Decimal, ...]:
    """Monthly shares from last year's monthly actuals (non-cumulative), summing to 1."""
    if len(monthly_values) != 12:
        raise ValueError("a seasonal profile needs 12 monthly values")
    if any(v < 0 for v in monthly_values):
        raise ValueError("monthly values cannot be negative")
    total = sum(monthly_values, Decimal(0))
    if total <= 0:
        raise ValueError("monthly values must add up to more than zero")
    return tuple(v / total for v in monthly_values)


@lru_cache(maxsize=256)
def _periods(year: int, cadence: str) -> tuple[dt.date, ...]:
    months = range(1, 13) if cadence == "monthly" else (3, 6, 9, 12)
    return tuple(month_end(year, m) for m in months)


def periods(year: int, cadence: str) -> list[dt.date]:
    """Ends of the reporting periods of a year: month ends or quarter ends."""
    return list(_periods(year, cadence))


def report_due(period_end: dt.date, thresholds: Thresholds = Thresholds()) -> dt.date:
    return period_end + dt.timedelta(days=thresholds.report_grace_days)


@lru_cache(maxsize=4096)
def last_due_period(
    year: int, cadence: str, on: dt.date, deadline: dt.date, thresholds: Thresholds = Thresholds()
) -> dt.date | None:
    """The latest period whose report was due by `on` (None if none is due yet)."""
    due = [
        p
        for p in periods(year, cadence)
        if report_due(p, thresholds) < on and p <= month_end(deadline.year, deadline.month)
    ]
    return due[-1] if due else None

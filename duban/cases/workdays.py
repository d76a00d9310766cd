"""Chinese working days and working hours, from the calendar table (WorkdayCalendar and
CalendarDay) — never from a guess.

A day is a working day when the table says so (a holiday on a weekday is not; a weekend
working day of 调休 is); other days of a covered year follow their weekday. A day of a
year the table does not cover raises ``CalendarNotCovered``.

Limits:
- ``hours``: clock hours, around the clock.
- ``working_hours``: time inside the working periods (conf.WORKING_HOURS) of working days.
- ``working_days``: N working days after the day the clock starts; due when the last
  working period of the Nth ends. (3 working days from Friday 2022-09-30: 10-08, 10-09
  (调休) and 10-10, due 2022-10-10 18:00.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.cases import conf

MAX_DAYS = 3 * 366  # no limit walks further than this
_ONE_DAY = dt.timedelta(days=1)


class CalendarNotCovered(ValidationError):
    def __init__(self, year: int):
        self.year = year
        super().__init__(
            _(
                "The working-day calendar does not cover %(year)s: an administrator must "
                "add that year's holidays and adjusted working days before a deadline can "
                "fall in it."
            )
            % {"year": year},
            code="calendar_not_covered",
        )


class WorkCalendar:
    """The calendar table, read once per use (one query for the years, one per year)."""

    def __init__(self, periods: Iterable[tuple[dt.time, dt.time]] | None = None):
        self.periods = tuple(periods if periods is not None else conf.WORKING_HOURS)
        self.tz = timezone.get_default_timezone()
        self.day_length = sum(
            (
                dt.datetime.combine(dt.date(2000, 1, 1), end)
                - dt.datetime.combine(dt.date(2000, 1, 1), begin)
                for begin, end in self.periods
            ),
            dt.timedelta(),
        )
        self._years: set[int] | None = None
        self._days: dict[int, dict[dt.date, bool]] = {}
        # What each day was found to be, its working periods as moments, and the end of N
        # working days after a day: an intake computes four limits over the same few days,
        # and a worker's intakes over the same weeks (cases.services._calendar shares these
        # among the calendars of one stamp). Only days of covered years are kept.
        self._workday: dict[dt.date, bool] = {}
        self._segments: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]] = {}
        self._after_days: dict[tuple[dt.date, int], dt.datetime] = {}

    # -- days --------------------------------------------------------------
    def covered_years(self) -> set[int]:
        if self._years is None:
            from duban.cases.models import WorkdayCalendar

            self._years = set(WorkdayCalendar.objects.values_list("year", flat=True))
        return self._years

    def _year(self, year: int) -> dict[dt.date, bool]:
        if year not in self._days:
            if year not in self.covered_years():
                raise CalendarNotCovered(year)
            from duban.cases.models import CalendarDay

            self._days[year] = dict(
                CalendarDay.objects.filter(
                    date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
                ).values_list("date", "is_workday")
            )
        return self._days[year]

    def is_workday(self, day: dt.date) -> bool:
        known = self._workday.get(day)
        if known is None:
            special = self._year(day.year).get(day)
            known = special if special is not None else day.weekday() < 5
            self._workday[day] = known
        return known

    def next_workday(self, day: dt.date) -> dt.date:
        for _i in range(MAX_DAYS):
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                return day
        raise ValidationError(_("No working day within three years."))

    # -- times ---------------------------------------------------------------
    def _local(self, moment: dt.datetime) -> dt.datetime:
        if timezone.is_naive(moment):
            raise ValueError("aware datetimes only")
        return moment.astimezone(self.tz)

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.tz)

    def _periods_on(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The working periods of `day` as (begin, end) moments."""
        found = self._segments.get(day)
        if found is None:
            found = tuple((self._at(day, begin), self._at(day, end)) for begin, end in self.periods)
            self._segments[day] = found
        return found

    def end_of_workday(self, day: dt.date) -> dt.datetime:
        return self._at(day, self.periods[-1][1])

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        if days < 1:
            raise ValueError("at least one working day")
        first = self._local(start).date()
        due = self._after_days.get((first, days))
        if due is None:
            day = first
            for _i in range(days):
                day = self.next_workday(day)
            due = self._after_days[(first, days)] = self.end_of_workday(day)
        return due

    def add_working_seconds(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The moment when `seconds` of working time have passed since `start`."""
        moment = self._local(start)
        remaining = dt.timedelta(seconds=seconds)
        day = moment.date()
        first = True
        for _i in range(MAX_DAYS):
            if self.is_workday(day):
                if not first and remaining > self.day_length:
                    remaining -= self.day_length  # a whole working day, no need to look inside
                else:
                    for begin, seg_end in self._periods_on(day):
                        # after the first day, every period starts after `moment`
                        seg_start = max(begin, moment) if first else begin
                        if seg_end <= seg_start:
                            continue
                        if seg_end - seg_start >= remaining:
                            return seg_start + remaining
                        remaining -= seg_end - seg_start
            day += _ONE_DAY
            first = False
        raise ValidationError(_("No working day within three years."))

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working time between two moments (0 when end is not after start)."""
        start, end = self._local(start), self._local(end)
        if end <= start:
            return 0.0
        total = 0.0
        first, last = start.date(), end.date()
        day = first
        while day <= last:
            if self.is_workday(day):
                if first < day < last:
                    total += self.day_length.total_seconds()
                else:
                    for begin, finish in self._periods_on(day):
                        a = max(begin, start)
                        b = min(finish, end)
                        if b > a:
                            total += (b - a).total_seconds()
            day += _ONE_DAY
        return total

    # -- limits ----------------------------------------------------------------
    def deadline(self, start: dt.datetime, amount: int, unit: str) -> dt.datetime:
        if amount < 1:
            raise ValueError("a limit is at least 1")
        if unit == "hours":
            return start + dt.timedelta(hours=amount)
        if unit == "working_hours":
            return self.add_working_seconds(start, amount * 3600)
        if unit == "working_days":
            return self.add_working_days(start, amount)
        raise ValueError(f"unknown unit {unit!r}")

    def elapsed(self, start: dt.datetime, end: dt.datetime, unit: str) -> float:
        """Seconds of the limit's kind of time between two moments."""
        if unit == "hours":
            return max(0.0, (end - start).total_seconds())
        return self.working_seconds(start, end)

    def shift(self, moment: dt.datetime, seconds: float, unit: str) -> dt.datetime:
        """`moment` moved later by `seconds` of the limit's kind of time."""
        if unit == "hours":
            return moment + dt.timedelta(seconds=seconds)
        if seconds <= 0:
            return moment
        return self.add_working_seconds(moment, seconds)

    def warn_at(self, start: dt.datetime, deadline: dt.datetime, unit: str) -> dt.datetime:
        """When conf.YELLOW_PERCENT of the time between start and deadline is used."""
        share = conf.YELLOW_PERCENT / 100
        if unit == "hours":
            return start + (deadline - start) * share
        total = self.working_seconds(start, deadline)
        if total <= 0:
            return deadline
        return min(deadline, self.add_working_seconds(start, total * share))


def calendar_rows_from_package(years: Iterable[int] | None = None) -> dict[int, list[tuple]]:
    """{year: [(date, is_workday, name), ...]} for the years chinese_calendar knows."""
    from chinese_calendar.constants import holidays, workdays

    known = sorted({d.year for d in holidays} | {d.year for d in workdays})
    wanted = set(known if years is None else years)
    rows: dict[int, list[tuple]] = {year: [] for year in known if year in wanted}
    for day, holiday in holidays.items():
        if day.year in rows:
            rows[day.year].append((day, False, NAMES.get(str(holiday), str(holiday))))
    for day, holiday in workdays.items():
        if day.year in rows:
            rows[day.year].append((day, True, NAMES.get(str(holiday), str(holiday)) + "调休"))
    for year in rows:
        rows[year].sort()
    return rows


NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def store_rows(rows: dict[int, list[tuple]], *, year_model, day_model, source: str) -> list[int]:
    """Insert the years that the table does not have yet (an administrator's edits of a
    loaded year are kept). Returns the years added. Used by the data migration too."""
    have = set(year_model.objects.values_list("year", flat=True))
    added = []
    for year, days in sorted(rows.items()):
        if year in have:
            continue
        year_model.objects.create(year=year, source=source)
        dates = [d for d, _w, _n in days]
        day_model.objects.filter(date__in=dates).delete()
        day_model.objects.bulk_create(
            [day_model(date=d, is_workday=w, name=n[:60]) for d, w, n in days]
        )
        added.append(year)
    return added

"""The working-day clock: Chinese holidays and 调休 weekends from the calendar table."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from duban.cases.models import CalendarDay, WorkdayCalendar
from duban.cases.workdays import CalendarNotCovered, WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def cal(db):
    return WorkCalendar()


def test_the_migration_loaded_every_year_the_package_knows(db):
    years = set(WorkdayCalendar.objects.values_list("year", flat=True))
    assert {2004, 2022, 2026} <= years
    assert 2027 not in years


def test_issue_example_three_working_days_from_national_day_eve(cal):
    # 10-01..10-07 holidays; Sat 10-08 and Sun 10-09 are 调休 working days.
    assert cal.deadline(at(2022, 9, 30, 10), 3, "working_days") == at(2022, 10, 10, 18)


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (dt.date(2022, 10, 3), False),  # Monday in the National Day holiday
        (dt.date(2022, 10, 8), True),  # Saturday 调休
        (dt.date(2022, 10, 9), True),  # Sunday 调休
        (dt.date(2022, 10, 15), False),  # an ordinary Saturday
        (dt.date(2022, 1, 29), True),  # Saturday 调休 before Spring Festival 2022
        (dt.date(2022, 2, 3), False),  # Thursday in Spring Festival 2022
        (dt.date(2026, 2, 17), False),  # Spring Festival 2026 (Tuesday)
        (dt.date(2026, 2, 14), True),  # Saturday 调休 2026
        (dt.date(2026, 2, 28), True),  # Saturday 调休 2026
        (dt.date(2026, 10, 1), False),  # National Day 2026 (Thursday)
        (dt.date(2026, 10, 12), True),  # an ordinary Monday
    ],
)
def test_holidays_and_adjusted_weekends(cal, day, workday):
    assert cal.is_workday(day) is workday


def test_spring_festival_2026_deadline(cal):
    # Friday 2026-02-13: the 14th (Sat) is a working day, 15th-23rd are off.
    assert cal.deadline(at(2026, 2, 13), 2, "working_days") == at(2026, 2, 24, 18)


def test_working_hours_skip_lunch_nights_and_holidays(cal):
    # Friday 2022-09-30 17:00 + 4 working hours: one hour that evening, then 10-08 9:00-12:00.
    assert cal.deadline(at(2022, 9, 30, 17), 4, "working_hours") == at(2022, 10, 8, 12)
    # 11:00 + 2 working hours: 11-12, lunch, 13:30-14:30.
    assert cal.deadline(at(2022, 9, 28, 11), 2, "working_hours") == at(2022, 9, 28, 14, 30)
    # Received at night: the clock runs from the next morning.
    assert cal.deadline(at(2022, 9, 28, 22), 1, "working_hours") == at(2022, 9, 29, 10)


def test_clock_hours_run_around_the_clock(cal):
    assert cal.deadline(at(2022, 10, 1, 10), 24, "hours") == at(2022, 10, 2, 10)


def test_working_seconds_and_warning_point(cal):
    assert cal.working_seconds(at(2022, 9, 30, 17), at(2022, 10, 8, 10)) == 2 * 3600
    start = at(2022, 9, 30, 9)
    deadline = cal.deadline(start, 10, "working_hours")
    # 80% of 10 working hours = 8 hours: Fri 9:00-12:00, 13:30-18:00 (7.5h) + 0.5h on 10-08.
    assert cal.warn_at(start, deadline, "working_hours") == at(2022, 10, 8, 9, 30)


def test_a_year_the_table_does_not_cover_is_an_error_never_a_guess(cal):
    with pytest.raises(CalendarNotCovered) as info:
        cal.deadline(at(2026, 12, 30), 5, "working_days")
    assert info.value.year == 2027
    assert "2027" in info.value.messages[0]


def test_an_administrator_can_extend_the_table(cal, db):
    WorkdayCalendar.objects.create(year=2027, source="admin")
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), is_workday=False, name="元旦")
    # 2026-12-31 Thursday: next working days 2027-01-04 (Mon, the 1st is off), 01-05.
    assert WorkCalendar().deadline(at(2026, 12, 31), 2, "working_days") == at(2027, 1, 5, 18)


def test_load_command_is_idempotent_and_keeps_admin_edits(db):
    day = CalendarDay.objects.get(date=dt.date(2022, 10, 8))
    day.name = "edited"
    day.save()
    WorkdayCalendar.objects.filter(year=2026).delete()
    CalendarDay.objects.filter(date__year=2026).delete()
    call_command("calendar", "load")
    assert WorkdayCalendar.objects.filter(year=2026).exists()
    assert WorkCalendar().is_workday(dt.date(2026, 2, 14))
    assert CalendarDay.objects.get(date=dt.date(2022, 10, 8)).name == "edited"
    count = CalendarDay.objects.count()
    call_command("calendar", "load")
    assert CalendarDay.objects.count() == count


def test_show_command_lists_a_year(db, capsys):
    call_command("calendar", "show", "2022")
    out = capsys.readouterr().out
    assert "2022-10-08 班" in out and "2022-10-03 休 国庆节" in out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="2031"):
        call_command("calendar", "show", "2031")


def test_admin_edits_of_the_calendar_are_audited(login, admin_user):
    from duban.audit.models import AuditEntry

    client = login(admin_user)
    response = client.post(
        "/admin/cases/workdaycalendar/add/", {"year": "2027", "source": "admin", "note": "国办发"}
    )
    assert response.status_code == 302
    response = client.post(
        "/admin/cases/calendarday/add/",
        {"date": "2027-01-01", "is_workday": "", "name": "元旦"},
    )
    assert response.status_code == 302
    assert not WorkCalendar().is_workday(dt.date(2027, 1, 1))
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"workdaycalendar.create", "calendarday.create"} <= actions


def test_adding_then_measuring_working_time_round_trips(db):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    calendar = WorkCalendar()
    starts = st.datetimes(
        min_value=dt.datetime(2021, 12, 1), max_value=dt.datetime(2026, 6, 30)
    ).map(lambda d: d.replace(microsecond=0, tzinfo=TZ))

    @settings(max_examples=300, deadline=None)
    @given(start=starts, minutes=st.integers(min_value=1, max_value=60 * 8 * 40))
    def check(start, minutes):
        end = calendar.add_working_seconds(start, minutes * 60)
        assert end > start
        assert calendar.working_seconds(start, end) == minutes * 60
        # the moment reached is inside working time (or exactly at a period's end)
        local = end.astimezone(TZ)
        assert calendar.is_workday(local.date())
        assert any(b <= local.time() <= e for b, e in calendar.periods)
        # one working day more never lands earlier
        assert calendar.deadline(start, 1, "working_days") <= calendar.deadline(
            start, 2, "working_days"
        )

    check()


def test_a_calendar_used_again_answers_as_a_new_one(db):
    """A worker's calendars share what they found (the days, their periods, the ends of
    N working days): whatever was computed before, a calendar answers as a calendar just
    read would — in any time zone, and a year the table does not cover is an error every
    time."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from duban.cases.services import _calendar

    kept = _calendar()
    zones = st.sampled_from(
        [TZ, dt.UTC, ZoneInfo("America/New_York"), dt.timezone(dt.timedelta(hours=14))]
    )
    starts = st.builds(
        lambda d, zone: d.replace(tzinfo=TZ).astimezone(zone),
        st.datetimes(min_value=dt.datetime(2021, 12, 1), max_value=dt.datetime(2026, 12, 31)),
        zones,
    )
    units = st.sampled_from(["hours", "working_hours", "working_days"])

    @settings(max_examples=300, deadline=None)
    @given(start=starts, amount=st.integers(min_value=1, max_value=80), unit=units)
    def check(start, amount, unit):
        new = WorkCalendar()
        try:
            due = new.deadline(start, amount, unit)
        except CalendarNotCovered:
            for _twice in range(2):  # never kept as an answer
                with pytest.raises(CalendarNotCovered):
                    kept.deadline(start, amount, unit)
            return
        assert due == kept.deadline(start, amount, unit)
        assert kept.warn_at(start, due, unit) == WorkCalendar().warn_at(start, due, unit)
        assert kept.working_seconds(start, due) == WorkCalendar().working_seconds(start, due)
        later = start + dt.timedelta(hours=amount)
        assert kept.add_working_seconds(start, amount * 997.5) == (
            WorkCalendar().add_working_seconds(start, amount * 997.5)
        )
        assert kept.elapsed(start, later, unit) == WorkCalendar().elapsed(start, later, unit)

    check()


def test_calendars_in_another_time_zone_keep_their_own_periods(db, settings):
    """A worker's calendars share what they found per working hours and time zone."""
    from duban.cases.services import _calendar

    start = at(2022, 9, 30, 10)
    in_shanghai = _calendar().deadline(start, 4, "working_hours")
    settings.TIME_ZONE = "America/New_York"
    in_new_york = _calendar().deadline(start, 4, "working_hours")
    assert in_new_york == WorkCalendar().deadline(start, 4, "working_hours")
    assert in_new_york != in_shanghai

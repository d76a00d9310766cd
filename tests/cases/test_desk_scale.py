"""bench/cases_scale.py, the bulk generator of the benchmarks: its deadlines are those of
WorkCalendar, its cases tell a consistent story, and the database goes on normally."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils.timezone import localdate

from bench.cases_scale import build_cases
from duban.cases.models import OPEN_STATUSES, Case, CaseEvent, Category
from duban.cases.workdays import WorkCalendar

pytestmark = pytest.mark.django_db

ONE_SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def built():
    build_cases(3000, seed=7, events="all")


def close(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= ONE_SECOND


def test_deadlines_and_yellow_points_are_those_of_the_working_day_calendar(built):
    calendar = WorkCalendar()
    categories = {c.pk: c for c in Category.objects.all()}
    checked = 0
    for case in Case.objects.exclude(clock_started_at=None).order_by("id")[:1500]:
        c = categories[case.category_id]
        start = case.clock_started_at
        response = calendar.deadline(start, c.response_limit, c.response_unit)
        assert case.response_deadline == response, case.pk
        assert close(case.response_warn_at, calendar.warn_at(start, response, c.response_unit))
        resolution = calendar.deadline(start, c.resolution_limit, c.resolution_unit)
        if case.extension_count:
            resolution = calendar.deadline(
                resolution, 3 if c.resolution_unit == "working_days" else 12, c.resolution_unit
            )
        assert case.resolution_deadline == resolution, case.pk
        assert close(
            case.resolution_warn_at, calendar.warn_at(start, resolution, c.resolution_unit)
        )
        checked += 1
    assert checked > 1000


def test_a_realistic_mix_told_consistently_by_the_timeline(built):
    now = dt.datetime(2022, 9, 30, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    cases = list(Case.objects.all())
    assert len(cases) == 3000
    status = Counter(c.status for c in cases)
    open_ = sum(status[s] for s in OPEN_STATUSES)
    assert status["closed"] > 2400 and 30 < open_ < 300 and status["void"] > 20
    days = {localdate(c.received_at) for c in cases}
    assert min(days) >= dt.date(2022, 1, 1) and max(days) == dt.date(2022, 9, 30)
    overdue = [
        c
        for c in cases
        if c.status in OPEN_STATUSES
        and c.status != "suspended"
        and c.resolved_at is None
        and c.resolution_deadline is not None
        and c.resolution_deadline <= now
    ]
    assert overdue
    last = {}
    for event in CaseEvent.objects.order_by("case_id", "id"):
        last[event.case_id] = event
    for case in cases:
        assert last[case.pk].to_status == case.status, case.pk
        assert (case.department_id is None) == (case.dispatched_at is None), case.pk
        for step in ("registered_at", "dispatched_at", "resolved_at", "closed_at"):
            if getattr(case, step) is not None:
                assert case.received_at <= getattr(case, step) <= now, (case.pk, step)


def test_the_database_goes_on_after_the_bulk_insert(built):
    from duban.cases.services import case_create

    top = Case.objects.order_by("-id").values_list("id", flat=True)[0]
    intake = case_create(
        category=Category.objects.get(code="noise"),
        channel="web",
        description="夜间施工",
        address="金水东路1号",
        attributes={"when": "night"},
    )
    assert intake.case.pk > top

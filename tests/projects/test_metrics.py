"""Portfolio metrics on hand-made pipelines, at several dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.projects import selectors
from duban.projects.metrics import COMPUTE, METRICS, UNITS
from tests.projects.conftest import make_land, make_project, make_report

D = dt.date


@pytest.fixture
def new_starts(dept, other_dept):
    """Ten new-start projects of 2022: started in March, June, on 09-30 (the last day of
    Q3), on 10-01 (the first day after), in December, and five not started."""
    starts = [D(2022, 3, 15), D(2022, 6, 30), D(2022, 9, 30), D(2022, 10, 1), D(2022, 12, 20)]
    projects = [
        make_project(dept if i % 2 else other_dept, f"N-{i}", "new", start_actual=day)
        for i, day in enumerate(starts)
    ]
    projects += [make_project(dept, f"N-x{i}", "new") for i in range(5)]
    # Noise that must not count: another year's new starts and other types.
    make_project(dept, "N-2021", "new", plan_year=2021, start_actual=D(2021, 4, 1))
    make_project(dept, "C-1", "continuing", start_actual=D(2021, 4, 1))
    return projects


@pytest.mark.parametrize(
    ("as_of", "rate", "by_q3"),
    [
        (D(2022, 3, 14), "0.00", "0.00"),
        (D(2022, 3, 15), "10.00", "10.00"),
        (D(2022, 6, 30), "20.00", "20.00"),
        (D(2022, 9, 29), "20.00", "20.00"),
        (D(2022, 9, 30), "30.00", "30.00"),  # the last day of Q3 counts
        (D(2022, 10, 1), "40.00", "30.00"),  # 10-01 is started, but not by Q3
        (D(2022, 12, 31), "50.00", "30.00"),
        (D(2023, 3, 1), "50.00", "30.00"),  # after the year: the year's figure stands
        (D(2021, 12, 31), "0.00", "0.00"),
    ],
)
def test_new_start_rate_at_several_dates(new_starts, as_of, rate, by_q3):
    assert METRICS["projects.new_start_rate"](2022, as_of) == Decimal(rate)
    assert METRICS["projects.new_start_rate_by_q3"](2022, as_of) == Decimal(by_q3)
    assert isinstance(METRICS["projects.new_start_rate"](2022, as_of), Decimal)


def test_start_counts_name_the_numbers_behind_the_rate(new_starts):
    counts = selectors.start_counts(2022, D(2022, 10, 1), "new")
    assert counts == {"total": 10, "started": 4, "started_by_q3": 3}


def test_rates_of_an_empty_year_are_zero(db):
    assert METRICS["projects.new_start_rate"](2030, D(2030, 6, 1)) == Decimal("0.00")
    assert METRICS["projects.preparatory_start_rate"](2030, D(2030, 6, 1)) == Decimal("0.00")
    assert METRICS["projects.investment_completed"](2030, D(2030, 6, 1)) == Decimal("0.00")


def test_preparatory_start_rate(dept):
    make_project(dept, "Q-1", "preparatory", start_actual=D(2022, 5, 1))
    make_project(dept, "Q-2", "preparatory", start_actual=D(2022, 11, 30))
    make_project(dept, "Q-3", "preparatory")
    make_project(dept, "Q-4", "preparatory", start_planned=D(2022, 12, 1))
    rate = METRICS["projects.preparatory_start_rate"]
    assert rate(2022, D(2022, 4, 30)) == Decimal("0.00")
    assert rate(2022, D(2022, 5, 1)) == Decimal("25.00")
    assert rate(2022, D(2022, 12, 31)) == Decimal("50.00")  # the 50%-within-the-year target met


def test_investment_counts_only_approved_months_that_have_ended(dept, other_dept):
    a = make_project(dept, "A", "continuing", start_actual=D(2021, 3, 1))
    b = make_project(other_dept, "B", "new", start_actual=D(2022, 2, 10))
    make_report(a, D(2021, 12, 31), "999", "5000")  # last year: not this year's investment
    make_report(a, D(2022, 1, 31), "100.50", "5100.50")
    make_report(a, D(2022, 2, 28), "200", "5300.50")
    make_report(a, D(2022, 3, 31), "300", "5600.50", status="submitted")  # not approved
    make_report(b, D(2022, 2, 28), "1000", "1000", status="returned")
    make_report(b, D(2022, 2, 28), "1200", "1200", version=2)  # the revised, approved one
    make_report(b, D(2022, 9, 30), "50", "1250")
    make_report(b, D(2022, 10, 31), "70", "1320")
    done = METRICS["projects.investment_completed"]
    assert done(2022, D(2022, 1, 30)) == Decimal("0.00")  # January has not ended
    assert done(2022, D(2022, 1, 31)) == Decimal("100.50")
    assert done(2022, D(2022, 3, 31)) == Decimal("1500.50")
    assert done(2022, D(2022, 9, 30)) == Decimal("1550.50")
    assert done(2022, D(2023, 6, 30)) == Decimal("1620.50")
    assert UNITS["projects.investment_completed"] == "元"


def test_investment_against_plan_and_linear_pace(dept):
    p = make_project(dept, "A", "new", annual_investment=Decimal("3650000"))
    make_report(p, D(2022, 1, 31), "310000", "310000")
    make_report(p, D(2022, 2, 28), "420000", "730000")
    summary = selectors.investment_summary(2022, D(2022, 2, 28))
    assert summary.planned == Decimal("3650000.00")
    assert summary.completed == Decimal("730000.00")
    assert summary.share_of_plan == Decimal("20.00")
    # 59 days of 365 elapsed: 590000 expected by the linear pace.
    assert summary.pace_expected == Decimal("590000.00")
    assert summary.share_of_pace == Decimal("123.73")
    assert METRICS["projects.investment_share_of_plan"](2022, D(2022, 2, 28)) == Decimal("20.00")
    curve = selectors.investment_curve(2022, D(2022, 2, 28))
    assert [row["completed"] for row in curve[:3]] == [
        Decimal("310000.00"),
        Decimal("730000.00"),
        None,
    ]
    assert curve[-1]["planned"] == Decimal("3650000.00")


def test_days_from_land_to_start(dept):
    fast = make_project(dept, "F", "new", start_actual=D(2022, 3, 11))
    make_land(fast, D(2022, 3, 1))
    slow = make_project(dept, "S", "new", start_actual=D(2022, 8, 30))
    make_land(slow, D(2022, 3, 3))
    later = make_project(dept, "L", "new", start_actual=D(2022, 11, 1))
    make_land(later, D(2022, 10, 1))
    not_started = make_project(dept, "X", "new")
    make_land(not_started, D(2022, 2, 1))
    make_project(dept, "Y", "new", start_actual=D(2022, 4, 1))  # no land step recorded
    result = selectors.land_to_start(2022, D(2022, 9, 30))
    assert result.projects == 2
    assert result.shortest_days == 10 and result.longest_days == 180
    assert result.average_days == Decimal("95.0")
    assert selectors.land_to_start(2022, D(2022, 3, 10)).projects == 0
    quick = selectors.land_to_start(2022, D(2022, 9, 30), extremes=False)
    assert (quick.average_days, quick.shortest_days) == (Decimal("95.0"), None)


def test_stage_counts_funnel_and_late_projects(dept, other_dept):
    make_project(dept, "A", "preparatory", start_planned=D(2022, 6, 1))  # late from 06-02
    make_project(
        dept,
        "B",
        "new",
        start_planned=D(2022, 4, 1),
        start_actual=D(2022, 4, 20),
        main_planned=D(2022, 9, 30),
    )
    make_project(
        other_dept,
        "C",
        "continuing",
        start_actual=D(2021, 1, 5),
        main_actual=D(2021, 3, 1),
        topped_actual=D(2022, 5, 1),
        complete_planned=D(2022, 12, 31),
        sector="social",
    )
    make_project(
        other_dept,
        "D",
        "completing",
        start_actual=D(2020, 1, 5),
        main_actual=D(2020, 3, 1),
        topped_actual=D(2021, 5, 1),
        complete_actual=D(2022, 2, 1),
        operate_actual=D(2022, 3, 1),
    )
    on = D(2022, 6, 1)
    stages = {row["key"]: row["n"] for row in selectors.by_stage(2022, on)}
    assert stages == {"prep": 1, "start": 1, "main": 0, "topped": 1, "complete": 0, "operate": 1}
    funnel = {row["stage"]: row["reached"] for row in selectors.funnel(2022, on)}
    assert funnel == {"prep": 4, "start": 3, "main": 2, "topped": 2, "complete": 1, "operate": 1}
    # Before 05-01 C had not topped out yet.
    earlier = {row["key"]: row["n"] for row in selectors.by_stage(2022, D(2022, 4, 30))}
    assert earlier["main"] == 1 and earlier["topped"] == 0
    assert list(selectors.late_projects(2022, on)) == []  # A's start is due today, not late
    late = list(selectors.late_projects(2022, D(2022, 6, 2)))
    assert [(p.code, p.next_stage, p.next_planned) for p in late] == [("A", "start", D(2022, 6, 1))]
    late = {p.code: p.next_stage for p in selectors.late_projects(2022, D(2022, 10, 1))}
    assert late == {"A": "start", "B": "main"}
    sectors = {row["key"]: row["n"] for row in selectors.by_sector(2022, on)}
    assert sectors == {"industry": 3, "social": 1}
    departments = {
        row["key"]: (row["n"], row["started"]) for row in selectors.by_department(2022, on)
    }
    assert departments == {dept.pk: (2, 1), other_dept.pk: (2, 2)}
    types = {row["key"]: row["n"] for row in selectors.by_type(2022, on)}
    assert types == {"new": 1, "continuing": 1, "preparatory": 1, "completing": 1}


def test_metrics_do_not_loop_over_rows(dept):
    for i in range(30):
        p = make_project(dept, f"M-{i}", "new", start_actual=D(2022, 1 + i % 9, 1))
        make_report(p, D(2022, 1, 31), "10", "10")
    for name, compute in COMPUTE.items():
        with CaptureQueriesContext(connection) as queries:
            value = compute(2022, D(2022, 9, 30))
        assert len(queries) <= 2, name
        # Served from the cache under the pipeline's version: two queries, same value.
        assert METRICS[name](2022, D(2022, 9, 30)) == value
        with CaptureQueriesContext(connection) as queries:
            assert METRICS[name](2022, D(2022, 9, 30)) == value
        assert len(queries) == 2, name
    assert METRICS["projects.investment_completed"](2022, D(2022, 9, 30)) == Decimal("300.00")
    # A write makes the cached figure obsolete at once.
    make_report(make_project(dept, "M-new", "new"), D(2022, 2, 28), "5", "5")
    assert METRICS["projects.investment_completed"](2022, D(2022, 9, 30)) == Decimal("305.00")


def test_start_rates_match_a_plain_count_on_random_pipelines(dept):
    """Against an oracle: the rates the database computes equal a count in Python, at
    every day checked; the rate never falls as the day moves on; the Q3 rate never
    exceeds it."""
    import random

    from duban.projects.models import Project

    rng = random.Random(7)
    starts = []
    for i in range(60):
        day = None
        if rng.random() < 0.8:
            day = D(2022, 1, 1) + dt.timedelta(days=rng.randint(-30, 400))
        starts.append(day)
        make_project(dept, f"R-{i}", "new", start_actual=day)
    assert Project.objects.count() == 60
    previous = Decimal("0")
    days = [D(2021, 12, 31), D(2022, 9, 29), D(2022, 9, 30), D(2022, 10, 1)]
    days += [D(2022, 1, 1) + dt.timedelta(days=d) for d in range(0, 400, 37)]
    for as_of in sorted(days):
        until = min(as_of, D(2022, 12, 31))
        started = sum(1 for s in starts if s is not None and s <= until)
        by_q3 = sum(1 for s in starts if s is not None and s <= min(until, D(2022, 9, 30)))
        rate = METRICS["projects.new_start_rate"](2022, as_of)
        assert rate == selectors.percent(started, 60)
        assert METRICS["projects.new_start_rate_by_q3"](2022, as_of) == selectors.percent(by_q3, 60)
        assert METRICS["projects.new_start_rate_by_q3"](2022, as_of) <= rate
        if as_of >= D(2022, 1, 1):
            assert rate >= previous
            previous = rate

"""Pace, status and forecast rules, at dates before, on and after pace and deadline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from duban.plans import pace
from duban.plans.pace import GREEN, GREY, RED, YELLOW, Observation, Target

Y0 = dt.date(2022, 1, 1)
YE = dt.date(2022, 12, 31)


def level(comparator="ge", value="6000", deadline=YE, **kw):
    return Target("level", comparator, D(value), kw.pop("upper", None), deadline, Y0, **kw)


def obs(period_end, value, done=None):
    return Observation(period_end, None if value is None else D(value), done)


def test_expected_fraction_is_linear_in_days_to_the_deadline():
    t = level()
    assert pace.expected_fraction(t, dt.date(2021, 12, 31)) == 0
    assert pace.expected_fraction(t, YE) == 1
    assert pace.expected_fraction(t, dt.date(2023, 2, 1)) == 1
    # 30 June 2022 is day 181 of 365.
    assert pace.expected_fraction(t, dt.date(2022, 6, 30)) == D(181) / D(365)
    half_year = level(deadline=dt.date(2022, 6, 30))
    assert pace.expected_fraction(half_year, dt.date(2022, 6, 30)) == 1
    assert pace.expected_fraction(half_year, dt.date(2022, 3, 31)) == D(90) / D(181)


def test_seasonal_profile_front_loads_the_pace():
    profile = pace.seasonal_profile([D(1)] * 6 + [D(3)] * 6)  # second half heavy
    t = level(profile=profile)
    assert sum(profile) == 1
    assert pace.expected_fraction(t, dt.date(2022, 6, 30)) == pytest.approx(D("0.25"))
    assert pace.expected_fraction(t, dt.date(2022, 9, 30)) == pytest.approx(D("0.625"))
    with pytest.raises(ValueError):
        pace.seasonal_profile([D(1)] * 11)
    with pytest.raises(ValueError):
        pace.seasonal_profile([D(0)] * 12)


def test_monthly_plan_sets_the_expected_value():
    plan = tuple(D(v) for v in (100, 200, 300, 400, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000))
    t = level(monthly_plan=plan)
    assert pace.expected_value(t, dt.date(2022, 6, 30)) == D(1000)
    # Behind a linear pace (3000 by 30 June) but ahead of its own plan.
    a = pace.assess(t, obs(dt.date(2022, 6, 30), "1100"), dt.date(2022, 7, 10))
    assert a.status == GREEN


@pytest.mark.parametrize(
    ("reported", "status"),
    [("4500", GREEN), ("3600", YELLOW), ("3000", RED), ("6000", GREEN)],
)
def test_level_ge_against_pace_at_the_reported_period(reported, status):
    # At 30 Sep the expected is 6000 * 273/365 = 4487.7; 80% of it is 3590.1.
    a = pace.assess(level(), obs(dt.date(2022, 9, 30), reported), dt.date(2022, 10, 8))
    assert a.status == status
    assert a.expected_value == pytest.approx(D(6000) * D(273) / D(365))


def test_level_is_judged_at_the_period_it_reports_not_today():
    # 4000 by the end of August is on pace (expected 3978) even though it is now 30 Sep.
    a = pace.assess(level(), obs(dt.date(2022, 8, 31), "4000"), dt.date(2022, 9, 30))
    assert a.status == GREEN


def test_level_deadline_passed_unmet_is_red_and_met_is_green():
    t = level(deadline=dt.date(2022, 6, 30))
    # By 31 May the pace is 6000 * 151/181 = 5005.5.
    assert pace.assess(t, obs(dt.date(2022, 5, 31), "5100"), dt.date(2022, 6, 10)).status == GREEN
    assert pace.assess(t, obs(dt.date(2022, 5, 31), "4900"), dt.date(2022, 6, 10)).status == YELLOW
    on_deadline = pace.assess(t, obs(dt.date(2022, 6, 30), "5000"), dt.date(2022, 6, 30))
    assert on_deadline.status == YELLOW
    after = pace.assess(t, obs(dt.date(2022, 6, 30), "5000"), dt.date(2022, 7, 1))
    # The reason is translated when shown, in the language active then.
    with translation.override("en"):
        assert after.status == RED and "deadline" in str(after.reason)
    with translation.override("zh-hans"):
        assert str(after.reason) == "已过时限，未完成"
    met = pace.assess(t, obs(dt.date(2022, 6, 30), "6000"), dt.date(2022, 8, 1))
    assert met.status == GREEN and met.achieved


def test_gt_needs_more_than_the_figure():
    t = level("gt", "1500")
    assert not pace.assess(t, obs(YE, "1500"), dt.date(2023, 1, 5)).achieved
    assert pace.assess(t, obs(YE, "1500"), dt.date(2023, 1, 5)).status == RED
    assert pace.assess(t, obs(YE, "1501"), dt.date(2023, 1, 5)).status == GREEN


def test_eq_and_about_are_met_by_reaching_the_figure():
    for comparator in ("eq", "about"):
        t = level(comparator, "1400")
        assert pace.assess(t, obs(YE, "1400"), dt.date(2023, 1, 5)).achieved
        assert not pace.assess(t, obs(YE, "1399"), dt.date(2023, 1, 5)).achieved


def test_between_counts_from_its_lower_bound():
    t = level("between", "25", upper=D(30))
    assert pace.assess(t, obs(YE, "25"), dt.date(2023, 1, 5)).status == GREEN
    assert pace.assess(t, obs(YE, "24"), dt.date(2023, 1, 5)).status == RED
    mid = pace.assess(t, obs(dt.date(2022, 6, 30), "12.5"), dt.date(2022, 7, 1))
    assert mid.status == GREEN  # 12.5 of 25 by mid-year is on pace


@pytest.mark.parametrize("comparator", ["le", "lt"])
def test_lower_is_better_targets_are_good_when_low(comparator):
    unemployment = Target("share", comparator, D("5.5"), None, YE, Y0)
    assert (
        pace.assess(unemployment, obs(dt.date(2022, 6, 30), "4.9"), dt.date(2022, 7, 8)).status
        == GREEN
    )
    assert (
        pace.assess(unemployment, obs(dt.date(2022, 6, 30), "6.0"), dt.date(2022, 7, 8)).status
        == YELLOW
    )
    assert (
        pace.assess(unemployment, obs(dt.date(2022, 6, 30), "7.5"), dt.date(2022, 7, 8)).status
        == RED
    )
    at_limit = pace.assess(unemployment, obs(dt.date(2022, 6, 30), "5.5"), dt.date(2022, 7, 8))
    assert at_limit.achieved is (comparator == "le")


@pytest.mark.parametrize(
    ("ytd", "status"), [("8.5", GREEN), ("8", GREEN), ("3.1", YELLOW), ("-0.4", RED)]
)
def test_growth_is_judged_in_points_not_scaled_by_time(ytd, status):
    t = Target("growth", "eq", D(8), None, YE, Y0, baseline=D("4.8"))
    for on in (dt.date(2022, 3, 10), dt.date(2022, 10, 8)):
        a = pace.assess(t, obs(on.replace(day=1) - dt.timedelta(days=1), ytd), on)
        assert a.status == status
        assert a.forecast == D(ytd)


def test_a_decline_target_is_met_by_falling_enough():
    energy = Target("growth", "le", D(-3), None, YE, Y0)
    assert (
        pace.assess(energy, obs(dt.date(2022, 6, 30), "-3.5"), dt.date(2022, 7, 8)).status == GREEN
    )
    assert (
        pace.assess(energy, obs(dt.date(2022, 6, 30), "-1"), dt.date(2022, 7, 8)).status == YELLOW
    )
    assert pace.assess(energy, obs(dt.date(2022, 6, 30), "0.5"), dt.date(2022, 7, 8)).status == RED


def test_share_counts_from_the_baseline():
    # 垃圾分类覆盖率 from 90% last year to 98%: 94% by the end of June is on pace.
    t = Target("share", "ge", D(98), None, YE, Y0, baseline=D(90), from_baseline=True)
    assert pace.assess(t, obs(dt.date(2022, 6, 30), "94"), dt.date(2022, 7, 8)).status == GREEN
    # From zero, 94% would look far ahead; from the baseline, 91% is well behind.
    assert pace.assess(t, obs(dt.date(2022, 6, 30), "91"), dt.date(2022, 7, 8)).status == RED


def test_milestones():
    t = Target("milestone", None, None, None, dt.date(2022, 3, 10), Y0)
    assert pace.assess(t, None, dt.date(2022, 3, 1)).status == GREY
    assert pace.assess(t, None, dt.date(2022, 3, 10)).status == GREY
    assert pace.assess(t, None, dt.date(2022, 3, 11)).status == YELLOW
    assert pace.assess(t, None, dt.date(2022, 6, 9)).status == RED  # 91 days late
    done = obs(dt.date(2022, 3, 31), None, done=dt.date(2022, 3, 8))
    assert pace.assess(t, done, dt.date(2022, 3, 9)).status == GREEN
    late = obs(dt.date(2022, 3, 31), None, done=dt.date(2022, 3, 20))
    a = pace.assess(t, late, dt.date(2022, 4, 1))
    with translation.override("en"):
        assert a.status == GREEN and str(a.reason) == "done late"


def test_nothing_reported_is_grey_until_the_deadline_then_red():
    assert pace.assess(level(), None, dt.date(2022, 1, 20)).status == GREY
    assert pace.assess(level(), None, dt.date(2023, 1, 1)).status == RED


def test_forecast_projects_the_year_end():
    a = pace.assess(level(), obs(dt.date(2022, 6, 30), "2715"), dt.date(2022, 7, 5))
    # 2715 after 181 of 365 days projects to 5475 for the year: 91% of the target.
    assert a.forecast == pytest.approx(D("5475"), rel=D("0.001"))
    assert a.forecast_attainment == pytest.approx(D("0.9125"), rel=D("0.001"))


def test_periods_and_due_dates():
    assert pace.periods(2022, "quarterly") == [
        dt.date(2022, 3, 31),
        dt.date(2022, 6, 30),
        dt.date(2022, 9, 30),
        dt.date(2022, 12, 31),
    ]
    assert len(pace.periods(2022, "monthly")) == 12
    assert pace.last_due_period(2022, "monthly", dt.date(2022, 10, 5), YE) == dt.date(2022, 8, 31)
    assert pace.last_due_period(2022, "monthly", dt.date(2022, 10, 6), YE) == dt.date(2022, 9, 30)
    assert pace.last_due_period(2022, "quarterly", dt.date(2022, 2, 1), YE) is None
    # A half-year target is not reported on after its deadline month.
    assert pace.last_due_period(
        2022, "monthly", dt.date(2022, 12, 1), dt.date(2022, 6, 30)
    ) == dt.date(2022, 6, 30)


@given(
    st.dates(min_value=dt.date(2021, 6, 1), max_value=dt.date(2023, 6, 1)),
    st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2022, 12, 31)),
)
def test_expected_fraction_is_monotone_and_bounded(on, deadline):
    t = level(deadline=deadline)
    f = pace.expected_fraction(t, on)
    assert 0 <= f <= 1
    assert pace.expected_fraction(t, on + dt.timedelta(days=1)) >= f

"""The demo pipeline: 848 projects worth exactly 4768亿元, deterministic, idempotent, and
consistent with the registry's own rules."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db.models import Sum

from duban import clock
from duban.demo import demo_departments
from duban.projects import selectors, services
from duban.projects.demo import build_projects_demo
from duban.projects.metrics import METRICS
from duban.projects.models import ApprovalStep, MonthlyReport, Project

AS_OF = dt.date(2022, 9, 30)


@pytest.fixture
def demo(db):
    departments = demo_departments()
    started = time.monotonic()
    summary = build_projects_demo(departments=departments)
    return summary, time.monotonic() - started, departments


def test_848_projects_worth_exactly_4768_yi_plausible_and_valid(demo):
    """One build (about 6 s) checked for its size, its figures and the registry's rules."""
    summary, seconds, _departments = demo
    assert Project.objects.count() == 848
    total = Project.objects.aggregate(s=Sum("total_investment"))["s"]
    assert total == Decimal("476800000000")
    assert "848 projects worth 4768亿元" in summary and "\n" not in summary
    assert seconds < 30
    types = dict(Project.objects.values_list("project_type").annotate(n=Sum(1)))
    assert set(types) == {"new", "continuing", "preparatory", "completing"}
    _plausible_as_of_the_end_of_q3()
    _every_project_passes_the_registry_rules()
    # Deterministic: the same seed gives the same pipeline on every machine.
    assert selectors.start_counts(2022, AS_OF, "new") == {
        "total": 286,
        "started": 245,
        "started_by_q3": 245,
    }


def test_running_twice_adds_nothing(demo):
    _summary, _seconds, departments = demo
    counts = (Project.objects.count(), MonthlyReport.objects.count(), ApprovalStep.objects.count())
    again = build_projects_demo(departments=departments)
    assert "found 848" in again
    assert (
        Project.objects.count(),
        MonthlyReport.objects.count(),
        ApprovalStep.objects.count(),
    ) == counts


def _plausible_as_of_the_end_of_q3():
    new_q3 = METRICS["projects.new_start_rate_by_q3"](2022, AS_OF)
    assert Decimal("80") <= new_q3 <= Decimal("95")
    prep = METRICS["projects.preparatory_start_rate"](2022, AS_OF)
    assert Decimal("15") <= prep <= Decimal("60")
    summary = selectors.investment_summary(2022, AS_OF)
    assert Decimal("50") <= summary.share_of_plan <= Decimal("90")
    assert MonthlyReport.objects.filter(status="submitted").exists()  # some wait for review
    assert not MonthlyReport.objects.filter(period_end__gt=AS_OF).exists()
    land = selectors.land_to_start(2022, AS_OF)
    assert land.projects > 200 and land.average_days > 0


def _every_project_passes_the_registry_rules():
    with clock.as_of(AS_OF):
        for project in Project.objects.all():
            services.project_check(project, check_code=False)
    # Cumulative investment never falls from one approved month to the next.
    last = {}
    for report in MonthlyReport.objects.filter(status="approved").order_by("project", "period_end"):
        assert report.cumulative_investment >= last.get(report.project_id, 0)
        assert report.cumulative_investment <= report.project.total_investment
        last[report.project_id] = report.cumulative_investment

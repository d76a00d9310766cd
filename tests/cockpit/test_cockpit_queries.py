"""The cockpit reads a fixed number of queries whatever the size of the plan, the pipeline
and the cases: aggregates are the database's (and the case roll-up's), never a loop of
queries per item."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.accounts.models import Department
from duban.cases import rollup
from duban.cases import services as cases
from duban.plans import tracking
from duban.projects import freshness
from duban.projects.models import MonthlyReport, Project
from tests.conftest import make_user
from tests.plans.factories import approved_report, make_commitment, make_plan
from tests.projects.conftest import make_project, make_report

TZ = ZoneInfo("Asia/Shanghai")
SEP = dt.date(2022, 9, 30)


def _category(planner, code: str, department):
    return cases.category_save(
        actor=planner,
        code=code,
        name=f"类别{code}",
        group="城市管理",
        default_department=department,
        response_limit=2,
        response_unit="working_hours",
        resolution_limit=3,
        resolution_unit="working_days",
        clock_start="receipt",
    )


def _grow(n: int, *, plan, planner, departments, categories, handlers) -> None:
    """n more of everything the cockpit shows: commitments (green, red, a headline with a
    trend, an overdue report, a notice), projects (on time and late, with reports) and
    cases (overdue, dispatched, resolved) spread over departments and categories."""
    start = plan.commitments.count()
    for i in range(start, start + n):
        department = departments[i % len(departments)]
        green = make_commitment(
            plan,
            department,
            key=f"g{i}",
            indicator=f"新增停车位{i}",
            section=f"第{i % 3}部分",
            value=Decimal(1000),
            headline=i == 0,
        )
        red = make_commitment(
            plan,
            department,
            key=f"r{i}",
            indicator=f"公园游园{i}",
            section=f"第{i % 3 + 1}部分",
            value=Decimal(1000),
        )
        approved_report(green, dt.date(2022, 7, 31), 650)
        approved_report(green, dt.date(2022, 8, 31), 900)
        approved_report(red, dt.date(2022, 7, 31), 100)  # far behind; August not filed
        with time_machine.travel(dt.datetime(2022, 9, 10, 10, tzinfo=TZ), tick=False):
            notice = tracking.notice_draft(commitment=red, trigger="red", reason="滞后")
            tracking.notice_issue(
                notice=notice, actor=planner, reply_deadline=dt.date(2022, 9, 20), email=False
            )
        on_time = make_project(
            department, f"P{i}", start_planned=dt.date(2022, 3, 1), start_actual=dt.date(2022, 3, 5)
        )
        make_project(department, f"L{i}", start_planned=dt.date(2022, 5, 1))  # late to start
        make_report(on_time, dt.date(2022, 8, 31), 100, 100)
    for i in range(n * 3):
        category = categories[i % len(categories)]
        with time_machine.travel(dt.datetime(2022, 9, 20 + i % 5, 10, tzinfo=TZ), tick=False):
            case = cases.case_create(
                category=category,
                channel=["web", "hotline", "inspection"][i % 3],
                description="占道经营",
                address=f"金水东路{i}号 如意湖街道",
            ).case
            if i % 3:
                case = cases.case_dispatch(case=case, actor=planner)
            if i % 3 == 2:
                handler = handlers[case.department_id]
                case = cases.case_accept(case=case, actor=handler)
                case = cases.case_respond(case=case, actor=handler, note="已联系")
                cases.case_resolve(case=case, actor=handler, result="已清理")


@pytest.fixture
def at_sep():
    with time_machine.travel(dt.datetime(2022, 9, 30, 10, tzinfo=TZ), tick=False):
        yield


def test_cockpit_queries_do_not_grow_with_the_data(
    client, db, at_sep, planner, leader, owner, dept, other_dept
):
    other_handler = make_user("other-handler", role="reporter", department=other_dept)
    plan = make_plan(2022)
    departments = [dept, other_dept]
    categories = [_category(planner, "road", dept), _category(planner, "stall", other_dept)]
    handlers = {dept.pk: owner, other_dept.pk: other_handler}
    kwargs = dict(
        plan=plan,
        planner=planner,
        departments=departments,
        categories=categories,
        handlers=handlers,
    )
    client.force_login(leader)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/cockpit/?as_of={SEP}")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def queries() -> tuple[int, int]:
        """(computing the pipeline figures, reading them from the cache)."""
        freshness.pipeline_changed()
        cold = count()
        warm = count()
        assert warm < cold
        return cold, warm

    _grow(2, **kwargs)
    queries()  # the first visit pins the date in the session and makes the default scheme
    small = queries()
    body = client.get("/cockpit/").content.decode()
    assert "公园游园0" in body and "新增停车位0" in body
    _grow(6, **kwargs)
    assert rollup.check() == []  # the roll-up kept pace with every case write
    assert queries() == small
    assert "公园游园7" in client.get("/cockpit/").content.decode()


def _panel(client):
    response = client.get(f"/cockpit/?as_of={SEP}")
    assert response.status_code == 200
    return response.context["projects"]


def test_cached_pipeline_figures_change_with_every_write(client, db, at_sep, leader, dept):
    """The pipeline panel is cached under the pipeline's stamp: any save or delete of a
    project, report or department shows at once."""
    make_plan(2022)
    client.force_login(leader)

    late = make_project(dept, "L-1", start_planned=dt.date(2022, 5, 1))
    assert (
        _panel(client)["late_count"] == 1 and _panel(client)["late"][0]["department"] == dept.name
    )
    make_project(dept, "L-2", start_planned=dt.date(2022, 6, 1))
    assert _panel(client)["late_count"] == 2
    late.start_actual = dt.date(2022, 5, 3)
    late.save()
    assert _panel(client)["late_count"] == 1
    before = _panel(client)["investment"].completed
    make_report(late, dt.date(2022, 8, 31), 3_000_000, 3_000_000)
    assert _panel(client)["investment"].completed == before + 3_000_000
    dept.name = "改名后的单位"
    dept.save()
    assert _panel(client)["late"][0]["department"] == "改名后的单位"
    late.delete()
    assert _panel(client)["investment"].completed == before


def test_cached_pipeline_figures_follow_bulk_and_plain_sql_writes(client, db, at_sep, leader, dept):
    """bulk_create, queryset.update() and .delete() and plain SQL send no signals and call
    nothing: the triggers renew the pipeline's stamp all the same."""
    make_plan(2022)
    client.force_login(leader)

    late = make_project(dept, "L-1", start_planned=dt.date(2022, 5, 1))
    assert _panel(client)["late_count"] == 1
    stamp = freshness.version()
    template = Project.objects.get(pk=late.pk)
    template.pk, template.code = None, "L-2"
    Project.objects.bulk_create([template])
    assert freshness.version() != stamp
    assert _panel(client)["late_count"] == 2
    Project.objects.filter(code="L-2").update(start_actual=dt.date(2022, 6, 3))
    assert _panel(client)["late_count"] == 1
    before = _panel(client)["investment"].completed
    report = make_report(late, dt.date(2022, 8, 31), 3_000_000, 3_000_000)
    assert _panel(client)["investment"].completed == before + 3_000_000
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_monthlyreport SET month_investment = %s, cumulative_investment = %s"
            " WHERE id = %s",
            [5_000_000, 5_000_000, report.pk],
        )
    assert _panel(client)["investment"].completed == before + 5_000_000
    Department.objects.filter(pk=dept.pk).update(name="改名后的单位")
    assert _panel(client)["late"][0]["department"] == "改名后的单位"
    MonthlyReport.objects.filter(pk=report.pk).delete()
    assert _panel(client)["investment"].completed == before

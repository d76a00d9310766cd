"""Writes of the pipeline: validation, the report path, problems, and the audit trail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from duban.audit.models import AuditEntry
from duban.audit.services import audit_verify
from duban.projects import selectors, services
from duban.projects.models import MonthlyReport, Problem, Project
from tests.projects.conftest import make_report

D = dt.date
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

pytestmark = pytest.mark.usefixtures("pinned")


@pytest.fixture
def pinned():
    with time_machine.travel(dt.datetime(2022, 7, 15, 10, tzinfo=dt.UTC), tick=False):
        yield


def _new_fields(dept, **extra):
    fields = {
        "plan_year": 2022,
        "code": "ZD-1",
        "name": "智慧岛三期",
        "sector": "technology",
        "project_type": "new",
        "lead_department": dept,
        "total_investment": Decimal("500000000"),
        "annual_investment": Decimal("80000000"),
        "start_planned": D(2022, 6, 30),
    }
    fields.update(extra)
    return fields


def test_planner_creates_a_project_and_it_is_audited(planner, dept):
    project = services.project_create(actor=planner, **_new_fields(dept))
    assert Project.objects.get().code == "ZD-1"
    entry = AuditEntry.objects.get(action="project.create")
    assert entry.entity_id == str(project.pk) and entry.after["name"] == "智慧岛三期"


def test_reporters_cannot_edit_the_registry(owner, dept):
    with pytest.raises(PermissionDenied):
        services.project_create(actor=owner, **_new_fields(dept))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"annual_investment": Decimal("600000000")}, "annual_investment"),
        ({"total_investment": Decimal("-1")}, "total_investment"),
        ({"start_actual": D(2022, 8, 1)}, "start_actual"),  # in the future on 07-15
        ({"main_actual": D(2022, 5, 1)}, "main_actual"),  # no start before it
        ({"start_actual": D(2022, 5, 1), "main_actual": D(2022, 4, 1)}, "main_actual"),
        ({"main_planned": D(2022, 1, 1)}, "main_planned"),  # before the planned start
        ({"latitude": Decimal("34.7")}, "latitude"),  # without a longitude
        ({"latitude": Decimal("95"), "longitude": Decimal("113.7")}, "latitude"),
        ({"sector": "mining"}, "sector"),
        ({"code": ""}, "code"),
    ],
)
def test_project_validation_names_the_field(planner, dept, extra, field):
    with pytest.raises(ValidationError) as exc:
        services.project_create(actor=planner, **_new_fields(dept, **extra))
    assert field in exc.value.message_dict
    assert not Project.objects.exists()


def test_codes_are_unique_within_a_year(planner, dept):
    services.project_create(actor=planner, **_new_fields(dept))
    with pytest.raises(ValidationError) as exc:
        services.project_create(actor=planner, **_new_fields(dept))
    assert "code" in exc.value.message_dict
    services.project_create(actor=planner, **_new_fields(dept, plan_year=2023))  # next year's row


def test_update_records_before_and_after(planner, project):
    services.project_update(project=project, actor=planner, changes={"name": "新名称"})
    entry = AuditEntry.objects.get(action="project.update")
    assert entry.before["name"] == "项目P-1" and entry.after["name"] == "新名称"
    services.project_update(project=project, actor=planner, changes={"name": "新名称"})
    assert AuditEntry.objects.filter(action="project.update").count() == 1  # no-op not logged


def test_report_path_draft_submit_approve_moves_the_stage(owner, planner, project):
    report = services.report_create(
        project=project,
        actor=owner,
        period_end=D(2022, 6, 30),
        month_investment=Decimal("3000000"),
        cumulative_investment=Decimal("45000000"),
        stage="topped",
        stage_date=D(2022, 6, 28),
        work_done="主体结构封顶",
        photos=[SimpleUploadedFile("site.png", PNG, content_type="image/png")],
    )
    assert report.status == "draft" and report.photos.count() == 1
    assert selectors.investment_completed(2022, D(2022, 7, 15)) == 0  # a draft does not count
    services.report_submit(report=report, actor=owner)
    services.report_review(report=report, actor=planner, approve=True)
    report.refresh_from_db()
    project.refresh_from_db()
    assert report.status == "approved" and report.reviewed_by == planner
    assert project.topped_actual == D(2022, 6, 28)
    assert selectors.investment_completed(2022, D(2022, 7, 15)) == Decimal("3000000.00")
    assert AuditEntry.objects.filter(action="project.stage").exists()
    assert audit_verify().ok


def test_returned_report_is_revised_as_a_new_version(owner, planner, project):
    first = services.report_create(
        project=project,
        actor=owner,
        period_end=D(2022, 5, 31),
        month_investment=Decimal("1"),
        cumulative_investment=Decimal("10"),
    )
    with pytest.raises(ValidationError):  # one open report per month
        services.report_create(
            project=project,
            actor=owner,
            period_end=D(2022, 5, 31),
            month_investment=Decimal("1"),
            cumulative_investment=Decimal("10"),
        )
    services.report_submit(report=first, actor=owner)
    with pytest.raises(ValidationError):  # a return needs a reason
        services.report_review(report=first, actor=planner, approve=False, comment=" ")
    services.report_review(report=first, actor=planner, approve=False, comment="数字有误")
    second = services.report_create(
        project=project,
        actor=owner,
        period_end=D(2022, 5, 31),
        month_investment=Decimal("2"),
        cumulative_investment=Decimal("12"),
    )
    assert second.version == 2
    with pytest.raises(ValidationError):
        services.report_review(report=second, actor=planner, approve=True)  # still a draft
    services.report_submit(report=second, actor=owner)
    services.report_review(report=second, actor=planner, approve=True)
    with pytest.raises(ValidationError):  # an approved month refuses another report
        services.report_create(
            project=project,
            actor=owner,
            period_end=D(2022, 5, 31),
            month_investment=Decimal("2"),
            cumulative_investment=Decimal("12"),
        )
    assert MonthlyReport.objects.filter(status="approved").count() == 1


def test_cumulative_investment_cannot_fall(owner, project):
    make_report(project, D(2022, 4, 30), "5", "100")
    make_report(project, D(2022, 6, 30), "5", "120")
    for cumulative in ("99", "121"):
        with pytest.raises(ValidationError) as exc:
            services.report_create(
                project=project,
                actor=owner,
                period_end=D(2022, 5, 31),
                month_investment=Decimal("3"),
                cumulative_investment=Decimal(cumulative),
            )
        assert "cumulative_investment" in exc.value.message_dict
    services.report_create(
        project=project,
        actor=owner,
        period_end=D(2022, 5, 31),
        month_investment=Decimal("3"),
        cumulative_investment=Decimal("110"),
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"period_end": D(2022, 5, 30)}, "period_end"),  # not a month's last day
        ({"period_end": D(2022, 8, 31)}, "period_end"),  # August has not begun on 07-15
        ({"period_end": D(2021, 12, 31)}, "period_end"),  # not the plan year
        ({"month_investment": Decimal("-1")}, "month_investment"),
        (
            {"month_investment": Decimal("50"), "cumulative_investment": Decimal("10")},
            "cumulative_investment",
        ),
        ({"stage": "main", "stage_date": D(2022, 5, 3)}, "stage"),  # already reached in 2021
        ({"stage": "complete", "stage_date": D(2022, 5, 3)}, "stage"),  # skips topping out
        ({"stage": "topped", "stage_date": D(2022, 4, 3)}, "stage_date"),  # outside the month
        ({"stage": "topped"}, "stage_date"),
        ({"stage_date": D(2022, 5, 3)}, "stage"),
    ],
)
def test_report_validation(owner, project, fields, field):
    values = {
        "period_end": D(2022, 5, 31),
        "month_investment": Decimal("1"),
        "cumulative_investment": Decimal("10"),
    }
    values.update(fields)
    with pytest.raises(ValidationError) as exc:
        services.report_create(project=project, actor=owner, **values)
    assert field in exc.value.message_dict
    assert not MonthlyReport.objects.exists()


def test_photos_are_checked_by_content(owner, project):
    fake = SimpleUploadedFile("site.png", b"MZ not a picture", content_type="image/png")
    with pytest.raises(ValidationError):
        services.report_create(
            project=project,
            actor=owner,
            period_end=D(2022, 5, 31),
            month_investment=Decimal("1"),
            cumulative_investment=Decimal("10"),
            photos=[fake],
        )
    assert not MonthlyReport.objects.exists()


def test_only_the_projects_department_reports(colleague, outsider, planner, project):
    values = {
        "period_end": D(2022, 5, 31),
        "month_investment": Decimal("1"),
        "cumulative_investment": Decimal("10"),
    }
    services.report_create(project=project, actor=colleague, **values)
    for actor in (outsider, planner):
        with pytest.raises(PermissionDenied):
            services.report_create(project=project, actor=actor, **values)


def test_reporters_cannot_approve(owner, project):
    report = make_report(project, D(2022, 5, 31), "1", "10", status="submitted")
    with pytest.raises(PermissionDenied):
        services.report_review(report=report, actor=owner, approve=True)


def test_problem_is_tracked_to_closure(owner, outsider, planner, project, other_dept):
    problem = services.problem_raise(
        project=project,
        actor=owner,
        category="utilities",
        description="临时用电未接入",
        assigned_department=other_dept,
        deadline=D(2022, 7, 31),
    )
    assert problem.status == "open" and problem.raised_on == D(2022, 7, 15)
    with pytest.raises(PermissionDenied):  # the raising department does not answer itself
        services.problem_resolve(problem=problem, actor=owner, resolution="done")
    with pytest.raises(ValidationError):
        services.problem_close(problem=problem, actor=planner)  # not answered yet
    services.problem_resolve(problem=problem, actor=outsider, resolution="已协调供电公司接入")
    services.problem_reopen(
        problem=problem, actor=planner, reason="仍未通电", deadline=D(2022, 8, 10)
    )
    problem.refresh_from_db()
    assert problem.status == "open" and problem.deadline == D(2022, 8, 10)
    services.problem_resolve(problem=problem, actor=outsider, resolution="已通电")
    services.problem_close(problem=problem, actor=planner)
    problem.refresh_from_db()
    assert problem.status == "closed" and problem.closed_by == planner
    actions = list(
        AuditEntry.objects.filter(entity="projects.problem").values_list("action", flat=True)
    )
    assert actions == [
        "problem.raise",
        "problem.resolve",
        "problem.reopen",
        "problem.resolve",
        "problem.close",
    ]


def test_problem_validation_and_permissions(owner, outsider, project, other_dept):
    with pytest.raises(ValidationError) as exc:
        services.problem_raise(
            project=project,
            actor=owner,
            category="weather",
            description=" ",
            assigned_department=None,
            deadline=D(2022, 7, 1),
        )
    assert set(exc.value.message_dict) == {
        "category",
        "description",
        "assigned_department",
        "deadline",
    }
    with pytest.raises(PermissionDenied):
        services.problem_raise(
            project=project,
            actor=outsider,
            category="land",
            description="x",
            assigned_department=other_dept,
            deadline=D(2022, 8, 1),
        )
    assert not Problem.objects.exists()


def test_problem_counts_for_the_departments_evaluation(planner, project, dept, other_dept):
    def raise_(deadline, department):
        return services.problem_raise(
            project=project,
            actor=planner,
            category="land",
            description="用地指标",
            assigned_department=department,
            deadline=deadline,
        )

    late = raise_(D(2022, 7, 20), other_dept)
    raise_(D(2022, 7, 20), other_dept)  # stays open
    on_time = raise_(D(2022, 7, 31), dept)
    on_time.status, on_time.resolved_on = "resolved", D(2022, 7, 16)
    on_time.save()
    late.status, late.resolved_on = "resolved", D(2022, 7, 25)
    late.save()
    rows = {
        r["assigned_department"]: r for r in selectors.problem_counts_by_department(D(2022, 7, 26))
    }
    assert rows[other_dept.pk]["raised"] == 2 and rows[other_dept.pk]["overdue"] == 1
    assert rows[other_dept.pk]["resolved_late"] == 1
    assert rows[dept.pk]["resolved_on_time"] == 1 and rows[dept.pk]["overdue"] == 0


def test_a_project_with_reports_keeps_its_year(planner, project):
    make_report(project, D(2022, 5, 31), "1", "10")
    with pytest.raises(ValidationError) as exc:
        services.project_update(project=project, actor=planner, changes={"plan_year": 2023})
    assert "plan_year" in exc.value.message_dict


def test_a_code_taken_at_the_same_moment_is_a_validation_error(planner, dept, monkeypatch):
    services.project_create(actor=planner, **_new_fields(dept))
    # As if the other request had passed the check before this one saved.
    monkeypatch.setattr(services, "project_check", lambda project, **kwargs: None)
    with pytest.raises(ValidationError) as exc:
        services.project_create(actor=planner, **_new_fields(dept))
    assert "code" in exc.value.message_dict
    assert Project.objects.count() == 1

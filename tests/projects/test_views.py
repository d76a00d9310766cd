"""Pages: who sees what (owner, colleague, outsider, office roles), and bad input is a 4xx."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from duban.projects.models import MonthlyReport, Problem, Project
from tests.projects.conftest import make_project, make_report

D = dt.date
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

pytestmark = pytest.mark.usefixtures("pinned")


@pytest.fixture
def pinned():
    with time_machine.travel(dt.datetime(2022, 7, 15, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def foreign(other_dept):
    return make_project(other_dept, "F-1", "new", start_planned=D(2022, 5, 1))


@pytest.fixture
def problem(project, other_dept, planner):
    return Problem.objects.create(
        project=project,
        category="land",
        description="用地指标未落实",
        assigned_department=other_dept,
        deadline=D(2022, 7, 1),
        raised_by=planner,
        raised_on=D(2022, 6, 1),
    )


@pytest.mark.parametrize("name", ["index", "list", "late", "problems"])
@pytest.mark.parametrize("who", ["owner", "outsider", "planner", "leader", "admin_user"])
def test_pages_open_for_every_signed_in_role(request, login, project, foreign, name, who):
    client = login(request.getfixturevalue(who))
    response = client.get(reverse(f"projects:{name}"))
    assert response.status_code == 200


def test_pages_need_a_login(client, project):
    for name in ("index", "list", "late", "problems"):
        response = client.get(reverse(f"projects:{name}"))
        assert response.status_code == 302 and "/accounts/" in response["Location"]
    assert client.get(reverse("projects:detail", args=[project.pk])).status_code == 302


def test_overview_shows_the_pipeline_and_its_charts(login, planner, project, foreign):
    make_report(project, D(2022, 6, 30), "1000000", "50000000")
    response = login(planner).get(reverse("projects:index"), {"year": "2022"})
    html = response.content.decode()
    assert "vendor/plotly.min.js" in html and "data-figure" in html
    assert response.context["late_count"] == 2  # P-1's topping out, F-1's start
    assert response.context["investment"].completed == Decimal("1000000.00")
    assert response.context["new"] == {"total": 1, "started": 0, "started_by_q3": 0}


def test_reporters_see_only_their_departments_projects(login, owner, outsider, project, foreign):
    html = login(owner).get(reverse("projects:list")).content.decode()
    assert "P-1" in html and "F-1" not in html
    response = login(outsider).get(reverse("projects:index"))
    assert response.context["by_department"][0]["label"] == "教育文化体育局"
    assert len(response.context["by_department"]) == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("colleague", 200),
        ("outsider", 403),
        ("planner", 200),
        ("leader", 200),
        ("admin_user", 200),
    ],
)
def test_detail_permissions(request, login, project, who, status):
    client = login(request.getfixturevalue(who))
    assert client.get(reverse("projects:detail", args=[project.pk])).status_code == status


def test_detail_shows_the_timeline(login, owner, project):
    response = login(owner).get(reverse("projects:detail", args=[project.pk]))
    labels = [str(e["label"]) for e in response.context["timeline"]]
    assert labels == ["开工", "主体施工", "主体封顶"]  # the UI speaks Chinese by default
    assert response.context["timeline"][-1]["late"]  # planned 2022-06-30, not reached on 07-15


def test_list_filters_and_keyset_pages(login, planner, dept):
    for i in range(60):
        make_project(dept, f"K-{i:03}", "new" if i % 3 else "preparatory")
    client = login(planner)
    first = client.get(reverse("projects:list"), {"year": "2022"})
    assert first.context["total"] == 60 and len(first.context["rows"]) == 50
    assert first.context["next_url"]
    second = client.get(reverse("projects:list") + first.context["next_url"])
    assert len(second.context["rows"]) == 10 and second.context["next_url"] is None
    seen = {p.code for p in first.context["rows"]} | {p.code for p in second.context["rows"]}
    assert len(seen) == 60
    prep = client.get(reverse("projects:list"), {"year": "2022", "type": "preparatory"})
    assert prep.context["total"] == 20
    found = client.get(reverse("projects:list"), {"q": "K-007"})
    assert [p.code for p in found.context["rows"]] == ["K-007"]
    htmx = client.get(reverse("projects:list") + first.context["next_url"], HTTP_HX_REQUEST="true")
    assert b"<table" not in htmx.content and b"K-059" in htmx.content


@pytest.mark.parametrize(
    "query",
    [{"year": "abc"}, {"type": "mine"}, {"stage": "x"}, {"department": "999999"}, {"after": "-1"}],
)
def test_bad_list_filters_are_400(login, planner, project, query):
    assert login(planner).get(reverse("projects:list"), query).status_code == 400


def test_bad_year_is_400(login, planner):
    for name in ("index", "late", "ledger-export"):
        assert login(planner).get(reverse(f"projects:{name}"), {"year": "20x2"}).status_code == 400


def _report_post(**extra):
    data = {
        "period_end": "2022-06",
        "month_investment": "300",
        "cumulative_investment": "4500",
        "stage": "topped",
        "stage_date": "2022-06-28",
        "work_done": "封顶",
        "submit": "1",
    }
    data.update(extra)
    return data


def test_owner_files_a_report_with_photos_in_10000_yuan(login, owner, project):
    data = _report_post(photos=[SimpleUploadedFile("a.png", PNG, content_type="image/png")])
    response = login(owner).post(reverse("projects:report-new", args=[project.pk]), data)
    assert response.status_code == 302
    report = MonthlyReport.objects.get()
    assert report.status == "submitted" and report.period_end == D(2022, 6, 30)
    assert report.month_investment == Decimal("3000000.00")
    assert report.photos.count() == 1
    photo = report.photos.get()
    assert login(owner).get(reverse("projects:photo", args=[photo.pk])).status_code == 200


@pytest.mark.parametrize(
    ("who", "status"), [("colleague", 302), ("outsider", 403), ("planner", 403)]
)
def test_who_may_file_a_report(request, login, project, who, status):
    client = login(request.getfixturevalue(who))
    response = client.post(reverse("projects:report-new", args=[project.pk]), _report_post())
    assert response.status_code == status


@pytest.mark.parametrize(
    "extra",
    [
        {"period_end": "June"},
        {"month_investment": "-5"},
        {"cumulative_investment": "1"},  # below this month's amount
        {"stage": "operate"},  # skips gates
        {"period_end": "2022-09"},  # not begun on 07-15
    ],
)
def test_bad_reports_are_400_and_store_nothing(login, owner, project, extra):
    response = login(owner).post(
        reverse("projects:report-new", args=[project.pk]), _report_post(**extra)
    )
    assert response.status_code == 400
    assert not MonthlyReport.objects.exists()


def test_fake_photo_is_400(login, owner, project):
    fake = SimpleUploadedFile("a.png", b"<?php evil", content_type="image/png")
    response = login(owner).post(
        reverse("projects:report-new", args=[project.pk]), _report_post(photos=[fake])
    )
    assert response.status_code == 400 and not MonthlyReport.objects.exists()


def test_photo_of_another_department_is_refused(login, outsider, owner, project):
    login(owner).post(
        reverse("projects:report-new", args=[project.pk]),
        _report_post(photos=[SimpleUploadedFile("a.png", PNG, content_type="image/png")]),
    )
    photo = MonthlyReport.objects.get().photos.get()
    assert login(outsider).get(reverse("projects:photo", args=[photo.pk])).status_code == 403


def test_review_by_the_office_only(login, owner, planner, project):
    report = make_report(project, D(2022, 6, 30), "1", "10", status="submitted")
    url = reverse("projects:report-review", args=[report.pk])
    assert login(owner).post(url, {"decision": "approve"}).status_code == 403
    assert login(planner).post(url, {"decision": "maybe"}).status_code == 400
    assert login(planner).post(url, {"decision": "return"}).status_code == 400  # no reason
    assert login(planner).post(
        url, {"decision": "approve", "next": "https://evil.example/"}
    ).url == (project.get_absolute_url())
    report.refresh_from_db()
    assert report.status == "approved"
    assert login(planner).post(url, {"decision": "approve"}).status_code == 400  # already


def test_submit_a_draft(login, owner, outsider, project):
    report = make_report(project, D(2022, 6, 30), "1", "10", status="draft")
    url = reverse("projects:report-submit", args=[report.pk])
    assert login(outsider).post(url).status_code == 403
    assert login(owner).post(url).status_code == 302
    assert login(owner).post(url).status_code == 400  # already submitted
    assert login(owner).get(url).status_code == 405


def test_raise_and_follow_a_problem(login, owner, outsider, planner, project, other_dept):
    url = reverse("projects:problem-new", args=[project.pk])
    data = {
        "category": "utilities",
        "description": "缺电",
        "assigned_department": other_dept.pk,
        "deadline": "2022-08-01",
    }
    assert login(outsider).post(url, data).status_code == 403
    assert login(owner).post(url, {**data, "deadline": "2022-01-01"}).status_code == 400
    assert login(owner).post(url, data).status_code == 302
    problem = Problem.objects.get()
    # The assigned department sees it on its list and answers; the office closes it.
    assert problem.description in login(outsider).get(reverse("projects:problems")).content.decode()
    resolve = reverse("projects:problem-resolve", args=[problem.pk])
    assert login(owner).post(resolve, {"resolution": "x"}).status_code == 403
    assert login(outsider).post(resolve, {"resolution": ""}).status_code == 400
    assert login(outsider).post(resolve, {"resolution": "已接电"}).status_code == 302
    close = reverse("projects:problem-close", args=[problem.pk])
    assert login(outsider).post(close).status_code == 403
    assert login(planner).post(close).status_code == 302
    problem.refresh_from_db()
    assert problem.status == "closed"


def test_problems_of_others_are_hidden(login, problem, make_stranger):
    stranger = make_stranger()
    html = login(stranger).get(reverse("projects:problems")).content.decode()
    assert problem.description not in html
    resolve = reverse("projects:problem-resolve", args=[problem.pk])
    assert login(stranger).post(resolve, {"resolution": "x"}).status_code == 403


def test_overdue_problems_are_marked(login, planner, problem):
    response = login(planner).get(reverse("projects:problems"))
    assert response.context["rows"][0].overdue
    assert response.context["counts"][0]["overdue"] == 1
    assert login(planner).get(reverse("projects:problems"), {"show": "x"}).status_code == 400


def test_ledger_export_is_limited_to_what_the_user_sees(login, owner, project, foreign):
    response = login(owner).get(reverse("projects:ledger-export"), {"year": "2022"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["P-1"]


def test_ledger_import_page(login, owner, planner, project):
    url = reverse("projects:ledger-import")
    assert login(owner).get(url).status_code == 403
    assert login(planner).get(url).status_code == 200
    exported = login(planner).get(reverse("projects:ledger-export")).content
    upload = SimpleUploadedFile("ledger.xlsx", exported)
    response = login(planner).post(url, {"file": upload})
    assert response.status_code == 302
    not_xlsx = SimpleUploadedFile("ledger.xlsx", b"name,code\n")
    response = login(planner).post(url, {"file": not_xlsx})
    assert response.status_code == 400 and response.context["form"].non_field_errors()
    assert Project.objects.count() == 1


def test_missing_objects_are_404(login, planner):
    assert login(planner).get(reverse("projects:detail", args=[999999])).status_code == 404
    assert login(planner).get(reverse("projects:photo", args=[999999])).status_code == 404


def test_page_queries_do_not_grow_with_the_pipeline(login, planner, dept):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(planner)

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"year": "2022"}).status_code == 200
        return len(queries)

    make_project(dept, "S-0", "new")
    small = {name: count(reverse(f"projects:{name}")) for name in ("index", "list", "late")}
    for i in range(1, 40):
        p = make_project(dept, f"S-{i}", "new", start_planned=D(2022, 3, 1))
        make_report(p, D(2022, 3, 31), "1", "1")
    large = {name: count(reverse(f"projects:{name}")) for name in ("index", "list", "late")}
    assert large == small


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("476800000000"), "4768亿元"),
        (Decimal("61147465850"), "611.47亿元"),
        (Decimal("65849115"), "6584.91万元"),
        (Decimal("950"), "950元"),
        (None, "—"),
    ],
)
def test_amounts_are_written_the_chinese_way(value, text):
    from duban.projects.templatetags.projects_tags import yuan

    assert yuan(value) == text


def test_timeline_says_early_late_or_on_plan(login, owner, project):
    project.start_planned = D(2021, 5, 20)  # started 05-10: ten days early
    project.save()
    events = login(owner).get(reverse("projects:detail", args=[project.pk])).context["timeline"]
    assert [(e["slip"], e["early"]) for e in events[:2]] == [(-10, 10), (19, -19)]


def test_admin_applies_the_registry_rules(login, admin_user, project):
    client = login(admin_user)
    url = reverse("admin:projects_project_change", args=[project.pk])
    assert client.get(url).status_code == 200
    data = {
        "plan_year": 2022,
        "code": "P-1",
        "name": "改名",
        "sector": "industry",
        "project_type": "continuing",
        "lead_department": project.lead_department_id,
        "total_investment": "100",
        "annual_investment": "200",  # more than the total
        "approvals-TOTAL_FORMS": "0",
        "approvals-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert (
        response.status_code == 200
        and "annual_investment" in response.context["adminform"].form.errors
    )
    project.refresh_from_db()
    assert project.name == "项目P-1"
    assert client.get(reverse("admin:projects_monthlyreport_changelist")).status_code == 200


def _project_post(dept, **extra):
    data = {
        "plan_year": "2022",
        "code": "ZD-9",
        "name": "智慧岛四期",
        "sector": "technology",
        "project_type": "new",
        "lead_department": str(dept.pk),
        "total_wan": "50000",
        "annual_wan": "8000.5",
        "start_planned": "2022-08-01",
        "land_planned": "2022-05-01",
        "land_actual": "2022-05-20",
    }
    data.update(extra)
    return data


def test_planner_registers_and_edits_a_project_with_its_approvals(login, planner, dept):
    client = login(planner)
    assert client.get(reverse("projects:new")).status_code == 200
    response = client.post(reverse("projects:new"), _project_post(dept))
    assert response.status_code == 302
    project = Project.objects.get(code="ZD-9")
    assert project.annual_investment == Decimal("80005000.00")
    land = project.approvals.get(kind="land")
    assert (land.planned_date, land.actual_date) == (D(2022, 5, 1), D(2022, 5, 20))
    edit = reverse("projects:edit", args=[project.pk])
    assert client.get(edit).status_code == 200
    response = client.post(edit, _project_post(dept, name="改名", land_actual="2022-05-21"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.name == "改名"
    assert project.approvals.get(kind="land").actual_date == D(2022, 5, 21)


@pytest.mark.parametrize(
    "extra",
    [
        {"annual_wan": "60000"},  # more than the total
        {"start_actual": "2022-08-01"},  # in the future on 07-15
        {"land_actual": "2022-12-01"},  # in the future
        {"total_wan": "abc"},
        {"sector": "mining"},
    ],
)
def test_bad_project_edits_are_400_and_change_nothing(login, planner, dept, extra):
    response = login(planner).post(reverse("projects:new"), _project_post(dept, **extra))
    assert response.status_code == 400
    assert not Project.objects.filter(code="ZD-9").exists()


@pytest.mark.parametrize("who", ["owner", "leader", "outsider"])
def test_only_planners_edit_the_registry(request, login, project, dept, who):
    client = login(request.getfixturevalue(who))
    assert client.get(reverse("projects:edit", args=[project.pk])).status_code == 403
    assert client.post(reverse("projects:new"), _project_post(dept)).status_code == 403


def test_a_draft_is_edited_then_submitted(login, owner, outsider, project):
    report = make_report(project, D(2022, 6, 30), "1", "10", status="draft")
    url = reverse("projects:report-edit", args=[report.pk])
    assert login(outsider).get(url).status_code == 403
    page = login(owner).get(url)
    assert page.status_code == 200 and page.context["form"].initial["period_end"] == "2022-06"
    bad = _report_post(cumulative_investment="0.0001", stage="", stage_date="")
    assert login(owner).post(url, bad).status_code == 400
    moved = _report_post(period_end="2022-05", stage="", stage_date="")
    assert login(owner).post(url, moved).status_code == 400
    good = _report_post(month_investment="2", cumulative_investment="20", stage="", stage_date="")
    assert login(owner).post(url, good).status_code == 302
    report.refresh_from_db()
    assert report.status == "submitted" and report.month_investment == Decimal("20000.00")
    assert login(owner).get(url).status_code == 400  # no longer a draft


def test_review_queue(login, owner, planner, leader, project):
    report = make_report(project, D(2022, 6, 30), "1", "10", status="submitted")
    make_report(project, D(2022, 5, 31), "1", "9", status="approved")
    assert login(owner).get(reverse("projects:reviews")).status_code == 403
    response = login(leader).get(reverse("projects:reviews"))
    assert [r.pk for r in response.context["reports"]] == [report.pk]
    assert not response.context["can_review"]
    url = reverse("projects:report-review", args=[report.pk])
    back = reverse("projects:reviews")
    response = login(planner).post(url, {"decision": "approve", "next": back})
    assert response.status_code == 302 and response.url == back
    assert login(planner).get(back).context["total"] == 0

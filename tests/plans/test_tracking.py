"""Progress reports, status as of a date, supervision notices, reminders, Excel, API."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import load_workbook

from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_create
from duban.audit.services import audit_verify
from duban.plans import selectors, spreadsheets, tracking
from duban.plans.models import Notification, ProgressReport, SupervisionNotice
from tests.plans.factories import approved_report, make_commitment, make_plan


def at(day: str):
    return time_machine.travel(dt.datetime.fromisoformat(day + "T10:00:00+08:00"), tick=False)


@pytest.fixture
def plan(db):
    return make_plan(2022)


@pytest.fixture
def parking(plan, dept):
    return make_commitment(plan, dept)


# --- filing and review -------------------------------------------------------------------


def test_draft_submit_approve_only_approved_counts(parking, owner, planner):
    with at("2022-07-03"):
        report = tracking.progress_save(
            commitment=parking, actor=owner, period_end=dt.date(2022, 6, 30), value=Decimal("3100")
        )
        assert report.status == "draft"
        row = selectors.plan_status(parking.plan).rows[0]
        assert row.latest_value is None and row.status == "grey"
        tracking.progress_submit(report=report, actor=owner)
        assert selectors.plan_status(parking.plan).rows[0].latest_value is None
        tracking.progress_approve(report=report, actor=planner)
        row = selectors.plan_status(parking.plan).rows[0]
        assert row.latest_value == Decimal("3100") and row.status == "green"
    assert audit_verify().ok


def test_returned_report_is_revised_as_a_new_version(parking, owner, planner):
    with at("2022-07-03"):
        first = tracking.progress_save(
            commitment=parking,
            actor=owner,
            period_end=dt.date(2022, 6, 30),
            value=Decimal("3100"),
            submit=True,
        )
        with pytest.raises(ValidationError):  # awaiting review: frozen
            tracking.progress_save(
                commitment=parking, actor=owner, period_end=dt.date(2022, 6, 30), value=Decimal("1")
            )
        with pytest.raises(ValidationError):  # a return needs a reason
            tracking.progress_return(report=first, actor=planner, comment=" ")
        tracking.progress_return(report=first, actor=planner, comment="数据口径不对")
        second = tracking.progress_save(
            commitment=parking,
            actor=owner,
            period_end=dt.date(2022, 6, 30),
            value=Decimal("2900"),
            submit=True,
        )
    assert second.version == 2
    versions = ProgressReport.objects.filter(commitment=parking).order_by("version")
    assert [(r.version, r.status) for r in versions] == [(1, "returned"), (2, "submitted")]
    # The department's reporters got the return in their inbox and by e-mail.
    assert Notification.objects.filter(user=owner, kind="report_returned").exists()


def test_only_the_lead_departments_reporters_file(
    parking, owner, colleague, outsider, planner, leader
):
    with at("2022-07-03"):
        tracking.progress_save(
            commitment=parking, actor=colleague, period_end=dt.date(2022, 6, 30), value=Decimal("1")
        )
        for refused in (outsider, planner, leader):
            with pytest.raises(PermissionDenied):
                tracking.progress_save(
                    commitment=parking,
                    actor=refused,
                    period_end=dt.date(2022, 6, 30),
                    value=Decimal("1"),
                )


def test_reviewing_is_for_planners_other_than_the_author(parking, owner, leader, planner):
    with at("2022-07-03"):
        report = tracking.progress_save(
            commitment=parking,
            actor=owner,
            period_end=dt.date(2022, 6, 30),
            value=Decimal("1"),
            submit=True,
        )
        for refused in (owner, leader):
            with pytest.raises(PermissionDenied):
                tracking.progress_approve(report=report, actor=refused)
        tracking.progress_approve(report=report, actor=planner)
        with pytest.raises(ValidationError):
            tracking.progress_approve(report=report, actor=planner)


@pytest.mark.parametrize(
    ("period", "value", "field"),
    [
        ("2022-06-15", "1", "period_end"),  # not a period end
        ("2022-07-31", "1", "period_end"),  # has not ended yet
        ("2021-12-31", "1", "period_end"),  # another year
        ("2022-06-30", None, "value"),
        ("2022-06-30", "-5", "value"),
    ],
)
def test_bad_reports_are_refused(parking, owner, period, value, field):
    with at("2022-07-03"), pytest.raises(ValidationError) as info:
        tracking.progress_save(
            commitment=parking,
            actor=owner,
            period_end=dt.date.fromisoformat(period),
            value=None if value is None else Decimal(value),
        )
    assert field in info.value.message_dict
    assert not ProgressReport.objects.exists()


def test_quarterly_cadence_accepts_quarter_ends_only(parking, owner):
    parking.cadence = "quarterly"
    parking.save()
    with at("2022-07-03"):
        with pytest.raises(ValidationError):
            tracking.progress_save(
                commitment=parking, actor=owner, period_end=dt.date(2022, 5, 31), value=Decimal("1")
            )
        tracking.progress_save(
            commitment=parking, actor=owner, period_end=dt.date(2022, 6, 30), value=Decimal("1")
        )


def test_evidence_is_checked_by_content(parking, owner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with at("2022-07-03"):
        report = tracking.progress_save(
            commitment=parking, actor=owner, period_end=dt.date(2022, 6, 30), value=Decimal("1")
        )
        fake = SimpleUploadedFile(
            "photo.png", b"<script>alert(1)</script>", content_type="image/png"
        )
        with pytest.raises(ValidationError):
            tracking.evidence_add(report=report, actor=owner, upload=fake)
        real = SimpleUploadedFile(
            "photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png"
        )
        evidence = tracking.evidence_add(report=report, actor=owner, upload=real)
    assert evidence.size == 108 and evidence.original_name == "photo.png"
    assert "photo" not in evidence.file.name  # stored under a generated name


# --- status as of any date (the foundation clock) -----------------------------------------


def test_status_travels_in_time(parking, dept):
    approved_report(parking, dt.date(2022, 3, 31), 1500, approved_on=dt.date(2022, 4, 3))
    approved_report(parking, dt.date(2022, 6, 30), 2000, approved_on=dt.date(2022, 7, 4))
    plan = parking.plan
    # Before any report is due: grey.
    assert selectors.plan_status(plan, as_of=dt.date(2022, 2, 3)).rows[0].status == "grey"
    # As of April the March figure (1500 of an expected 1479) is on pace.
    april = selectors.plan_status(plan, as_of=dt.date(2022, 4, 10)).rows[0]
    assert april.status == "green" and april.latest_value == Decimal("1500")
    # The June figure is not known on 3 July (approved on the 4th)…
    assert selectors.plan_status(plan, as_of=dt.date(2022, 7, 3)).rows[0].latest_value == Decimal(
        "1500"
    )
    # …and on 5 July it is: 2000 of an expected 2975 is under 80% -> red.
    july = selectors.plan_status(plan, as_of=dt.date(2022, 7, 5)).rows[0]
    assert july.latest_value == Decimal("2000") and july.status == "red"
    # The clock's pin (as used by ?as_of= and DUBAN_AS_OF) gives the same answer.
    with at("2022-07-05"):
        assert selectors.plan_status(plan).rows[0].status == "red"


def test_overdue_flag(parking):
    approved_report(parking, dt.date(2022, 7, 31), 3000)
    plan = parking.plan
    # August's report is due 5 September: not overdue on the 5th, overdue on the 6th.
    assert selectors.plan_status(plan, as_of=dt.date(2022, 9, 5)).rows[0].overdue_period is None
    assert selectors.plan_status(plan, as_of=dt.date(2022, 9, 6)).rows[0].overdue_period == dt.date(
        2022, 8, 31
    )
    assert len(selectors.plan_status(plan, as_of=dt.date(2022, 9, 6), status="overdue").rows) == 1


def test_milestone_status_from_done_date(plan, dept):
    island = make_commitment(
        plan,
        dept,
        indicator="金融岛开岛",
        measure="milestone",
        comparator=None,
        value=None,
        unit=None,
        deadline=dt.date(2022, 3, 10),
    )
    assert selectors.plan_status(plan, as_of=dt.date(2022, 3, 10)).rows[0].status == "grey"
    assert selectors.plan_status(plan, as_of=dt.date(2022, 3, 20)).rows[0].status == "yellow"
    approved_report(
        island, dt.date(2022, 3, 31), done_date=dt.date(2022, 3, 8), approved_on=dt.date(2022, 4, 2)
    )
    assert selectors.plan_status(plan, as_of=dt.date(2022, 4, 2)).rows[0].status == "green"


def test_computed_commitment_takes_its_figure_from_a_metric(plan, dept, monkeypatch):
    from duban.plans import metrics

    started = make_commitment(
        plan,
        dept,
        indicator="新开工项目开工率",
        measure="share",
        value=Decimal("90"),
        unit="%",
        deadline=dt.date(2022, 9, 30),
        data_source="computed",
        metric="test.rate",
    )
    monkeypatch.setattr(
        metrics, "registry", lambda: {"test.rate": lambda year, as_of: Decimal("92.5")}
    )
    row = selectors.plan_status(plan, as_of=dt.date(2022, 9, 30)).rows[0]
    assert row.commitment.pk == started.pk
    assert row.latest_value == Decimal("92.5") and row.status == "green"
    assert row.overdue_period is None  # nobody reports a computed figure


def test_status_queries_do_not_grow_with_the_plan(plan, dept, django_assert_max_num_queries):
    for index in range(3):
        approved_report(make_commitment(plan, dept, key=f"a{index}"), dt.date(2022, 8, 31), 100)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            selectors.plan_status(plan, as_of=dt.date(2022, 9, 30))
        return len(ctx.captured_queries)

    small = count()
    for index in range(30):
        approved_report(make_commitment(plan, dept, key=f"b{index}"), dt.date(2022, 8, 31), 100)
    assert count() == small


# --- supervision and reminders -------------------------------------------------------


def test_sweep_drafts_notices_once_and_the_cycle_closes(parking, owner, planner, outsider):
    approved_report(parking, dt.date(2022, 6, 30), 500)
    with at("2022-07-05"):
        drafted = tracking.supervision_sweep(plan=parking.plan)
        assert len(drafted) == 1 and drafted[0].trigger == "red"
        assert tracking.supervision_sweep(plan=parking.plan) == []  # one open notice at a time
        notice = drafted[0]
        assert notice.number.startswith("督办〔2022〕")
        with pytest.raises(PermissionDenied):
            tracking.notice_issue(notice=notice, actor=owner, reply_deadline=dt.date(2022, 7, 12))
        with pytest.raises(ValidationError):
            tracking.notice_issue(notice=notice, actor=planner, reply_deadline=dt.date(2022, 7, 1))
        tracking.notice_issue(notice=notice, actor=planner, reply_deadline=dt.date(2022, 7, 12))
        assert Notification.objects.filter(user=owner, kind="notice_issued").exists()
        assert any("督办" in m.subject for m in mail.outbox)
        with pytest.raises(PermissionDenied):
            tracking.notice_reply(notice=notice, actor=outsider, reply="x", measures="y")
        with pytest.raises(ValidationError):
            tracking.notice_reply(notice=notice, actor=owner, reply="", measures="")
        tracking.notice_reply(notice=notice, actor=owner, reply="拆迁滞后", measures="倒排工期")
        tracking.notice_close(notice=notice, actor=planner)
    notice.refresh_from_db()
    assert notice.status == SupervisionNotice.Status.CLOSED


def test_reminders_are_sent_once(parking, owner):
    approved_report(parking, dt.date(2022, 7, 31), 4000)
    with at("2022-09-02"):
        assert tracking.reminders_send(plan=parking.plan) == 1  # August's report due on 5 Sep
        assert tracking.reminders_send(plan=parking.plan) == 0
    with at("2022-09-07"):
        assert tracking.reminders_send(plan=parking.plan) == 1  # now overdue
    kinds = sorted(Notification.objects.filter(user=owner).values_list("kind", flat=True))
    assert kinds == ["report_due", "report_overdue"]


# --- Excel round trip -------------------------------------------------------------------


def _template_rows(data: bytes):
    return [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]


def _filled(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for r in rows:
        book.active.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_excel_template_round_trip(parking, plan, dept, owner, planner):
    growth = make_commitment(
        plan,
        dept,
        key="g",
        indicator="社会消费品零售总额",
        measure="growth",
        comparator="eq",
        value=Decimal("10"),
        unit="%",
    )
    with at("2022-07-03"):
        rows = _template_rows(spreadsheets.template_export([parking, growth], 2022))
        assert rows[0][0] == "编号" and len(rows) == 3
        rows[1][5] = 3200
        rows[1][7] = "新建停车场3处"
        rows[2][5] = "9.5"
        reports = spreadsheets.template_import(data=_filled(rows), actor=owner, plan=plan)
    assert {r.status for r in reports} == {"submitted"}
    assert {r.channel for r in reports} == {"excel"}
    assert ProgressReport.objects.get(commitment=parking).value == Decimal("3200")
    # The plan export carries the status.
    exported = _template_rows(
        spreadsheets.plan_export(selectors.plan_status(plan, as_of=dt.date(2022, 7, 3)))
    )
    assert exported[1][2] == "指标" and {r[2] for r in exported[2:]} == {
        "新增停车位",
        "社会消费品零售总额",
    }


def test_excel_errors_name_row_and_column_and_save_nothing(parking, plan, dept, owner, outsider):
    other = make_commitment(plan, outsider.department, key="o", indicator="学位")
    with at("2022-07-03"):
        rows = _template_rows(spreadsheets.template_export([parking], 2022))
        rows.append([parking.pk, "", "", "", "2022-06-15", 1, None, "", "", ""])
        rows.append([other.pk, "", "", "", "2022-06-30", 1, None, "", "", ""])
        rows.append([99999, "", "", "", "2022-06-30", 1, None, "", "", ""])
        rows.append([parking.pk, "", "", "", "2022-05-31", "多", None, "", "", ""])
        rows[1][5] = 3200  # a good row: it must not be saved either
        with translation.override("en"), pytest.raises(ValidationError) as info:
            spreadsheets.template_import(data=_filled(rows), actor=owner, plan=plan)
        messages = list(info.value.messages)
    assert len(messages) == 4
    # Row 3 is the first added row: its period (2022-06-15) is not a period end.
    assert any(m.startswith("row 3, column E:") for m in messages), messages
    assert any(m.startswith("row 4, column A:") for m in messages), messages  # not our lead
    assert any(m.startswith("row 6, column F:") for m in messages), messages  # 多 is no number
    assert not ProgressReport.objects.exists()
    with pytest.raises(ValidationError):
        spreadsheets.template_import(data=b"not a workbook", actor=owner, plan=plan)
    with pytest.raises(ValidationError):
        spreadsheets.template_import(data=_filled([["wrong", "header"]]), actor=owner, plan=plan)


# --- views ---------------------------------------------------------------------------------


def test_overview_and_detail_pages(client, parking, planner, leader, owner, colleague, outsider):
    approved_report(parking, dt.date(2022, 8, 31), 4000)
    with at("2022-09-30"):
        for user in (planner, leader, owner, colleague):
            client.force_login(user)
            page = client.get("/plans/?year=2022")
            assert page.status_code == 200 and "新增停车位" in page.content.decode()
            detail = client.get(f"/plans/commitments/{parking.pk}/")
            assert detail.status_code == 200 and "data-figure" in detail.content.decode()
        client.force_login(outsider)
        assert (
            f"/plans/commitments/{parking.pk}/"
            not in client.get("/plans/?year=2022").content.decode()
        )
        assert client.get(f"/plans/commitments/{parking.pk}/").status_code == 403
        client.force_login(planner)
        assert client.get("/plans/?year=2022&status=purple").status_code == 400
        assert client.get("/plans/?year=20x2").status_code == 400
        response = client.get("/plans/?year=2022&format=xlsx")
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_file_and_review_through_the_pages(client, parking, owner, planner, outsider):
    with at("2022-07-03"):
        client.force_login(outsider)
        assert (
            client.post(
                f"/plans/commitments/{parking.pk}/report/",
                {"period_end": "2022-06-30", "value": "10"},
            ).status_code
            == 403
        )
        client.force_login(owner)
        response = client.post(
            f"/plans/commitments/{parking.pk}/report/",
            {"period_end": "2022-06-30", "value": "3000", "work_done": "新增", "submit": "1"},
        )
        assert response.status_code == 302
        report = ProgressReport.objects.get()
        assert report.status == "submitted"
        assert (
            client.post(
                f"/plans/commitments/{parking.pk}/report/",
                {"period_end": "2022-06-31", "value": "1"},
            ).status_code
            == 400
        )
        assert (
            client.post(f"/plans/reports/{report.pk}/review/", {"decision": "approve"}).status_code
            == 403
        )
        client.force_login(planner)
        assert "新增停车位" in client.get("/plans/reviews/").content.decode()
        assert (
            client.post(
                f"/plans/reports/{report.pk}/review/", {"decision": "return", "comment": ""}
            ).status_code
            == 400
        )
        assert (
            client.post(f"/plans/reports/{report.pk}/review/", {"decision": "approve"}).status_code
            == 302
        )
    report.refresh_from_db()
    assert report.status == "approved"


def test_department_page_and_excel_upload(client, parking, owner, outsider, planner, dept):
    with at("2022-07-03"):
        client.force_login(owner)
        page = client.get(f"/plans/departments/{dept.code}/")
        assert page.status_code == 200 and "新增停车位" in page.content.decode()
        template = client.get(f"/plans/departments/{dept.code}/template.xlsx")
        rows = _template_rows(template.content)
        rows[1][5] = 2500
        upload = io.BytesIO(_filled(rows))
        upload.name = "progress.xlsx"
        assert (
            client.post(f"/plans/departments/{dept.code}/upload/", {"file": upload}).status_code
            == 302
        )
        bad = io.BytesIO(b"PK\x03\x04 not really")
        bad.name = "progress.xlsx"
        assert (
            client.post(f"/plans/departments/{dept.code}/upload/", {"file": bad}).status_code == 400
        )
        client.force_login(outsider)
        assert client.get(f"/plans/departments/{dept.code}/").status_code == 403
        assert client.get(f"/plans/departments/{dept.code}/template.xlsx").status_code == 403
        upload.seek(0)
        assert (
            client.post(f"/plans/departments/{dept.code}/upload/", {"file": upload}).status_code
            == 403
        )
        client.force_login(planner)
        assert client.get(f"/plans/departments/{dept.code}/").status_code == 200
    assert ProgressReport.objects.get().value == Decimal("2500")


def test_notice_pages(client, parking, owner, outsider, planner):
    approved_report(parking, dt.date(2022, 6, 30), 500)
    with at("2022-07-05"):
        notice = tracking.supervision_sweep(plan=parking.plan)[0]
        client.force_login(owner)
        assert (
            client.get(f"/plans/notices/{notice.pk}/").status_code == 403
        )  # drafts are the office's
        client.force_login(planner)
        assert (
            client.post(
                f"/plans/notices/{notice.pk}/",
                {"action": "issue", "reply_deadline": "2022-07-12", "reason": "进度滞后"},
            ).status_code
            == 302
        )
        assert client.post(f"/plans/notices/{notice.pk}/", {"action": "explode"}).status_code == 400
        client.force_login(outsider)
        assert client.get(f"/plans/notices/{notice.pk}/").status_code == 403
        assert notice.number not in client.get("/plans/notices/").content.decode()
        client.force_login(owner)
        assert notice.number in client.get("/plans/notices/").content.decode()
        assert (
            client.post(
                f"/plans/notices/{notice.pk}/",
                {"action": "reply", "reply": "原因", "measures": "措施"},
            ).status_code
            == 302
        )
        assert "督办" in client.get("/plans/inbox/").content.decode()
    notice.refresh_from_db()
    assert notice.status == "replied"


def test_assignment_page(client, parking, planner, owner, other_dept):
    with at("2022-07-03"):
        client.force_login(owner)
        assert client.post(f"/plans/commitments/{parking.pk}/assign/", {}).status_code == 403
        client.force_login(planner)
        data = {
            "lead_department": other_dept.pk,
            "cadence": "quarterly",
            "data_source": "manual",
            "pace_profile": "seasonal",
            "pace_values": "1,1,1,1,1,1,2,2,2,2,2,2",
        }
        assert client.post(f"/plans/commitments/{parking.pk}/assign/", data).status_code == 302
        data["pace_values"] = "1,2,3"
        assert client.post(f"/plans/commitments/{parking.pk}/assign/", data).status_code == 400
    parking.refresh_from_db()
    assert (
        parking.lead_department == other_dept
        and parking.cadence == "quarterly"
        and len(parking.pace_values) == 12
    )


# --- API ------------------------------------------------------------------------------------


def test_api_reads_status_and_takes_reports_with_a_key(client, parking, planner, dept, other_dept):
    _, key = api_client_create(
        name="统计局", scope=ApiClient.Scope.PROGRESS, department=dept, actor=planner
    )
    _, other_key = api_client_create(
        name="别的系统", scope=ApiClient.Scope.PROGRESS, department=other_dept, actor=planner
    )
    with at("2022-07-03"):
        body = {"commitment_id": parking.pk, "period_end": "2022-06-30", "value": "3100"}
        assert (
            client.post("/api/v1/plans/progress", body, content_type="application/json").status_code
            == 401
        )
        assert (
            client.post(
                "/api/v1/plans/progress",
                body,
                content_type="application/json",
                HTTP_X_API_KEY="nope",
            ).status_code
            == 401
        )
        assert (
            client.post(
                "/api/v1/plans/progress",
                body,
                content_type="application/json",
                HTTP_X_API_KEY=other_key,
            ).status_code
            == 403
        )
        bad = client.post(
            "/api/v1/plans/progress",
            {**body, "period_end": "2022-06-15"},
            content_type="application/json",
            HTTP_X_API_KEY=key,
        )
        assert bad.status_code == 400
        assert "报告期" in bad.json()["detail"]  # the reason, in the default language
        assert (
            client.post(
                "/api/v1/plans/progress",
                {**body, "value": "abc"},
                content_type="application/json",
                HTTP_X_API_KEY=key,
            ).status_code
            == 422
        )
        created = client.post(
            "/api/v1/plans/progress", body, content_type="application/json", HTTP_X_API_KEY=key
        )
        assert created.status_code == 201 and created.json()["status"] == "submitted"
        report = ProgressReport.objects.get()
        tracking.progress_approve(report=report, actor=planner)
        listed = client.get("/api/v1/plans/2022/commitments?as_of=2022-07-03", HTTP_X_API_KEY=key)
        assert listed.status_code == 200
        item = listed.json()["commitments"][0]
        assert item["status"] == "green" and Decimal(item["latest_value"]) == Decimal("3100")
        # The same question asked for a day before the approval.
        earlier = client.get(
            "/api/v1/plans/2022/commitments?as_of=2022-06-01", HTTP_X_API_KEY=key
        ).json()
        assert earlier["commitments"][0]["latest_value"] is None
        assert (
            client.get("/api/v1/plans/2022/commitments", HTTP_X_API_KEY=other_key).json()[
                "commitments"
            ]
            == []
        )
        assert client.get("/api/v1/plans/1999/commitments", HTTP_X_API_KEY=key).status_code == 404
        assert (
            client.get(
                "/api/v1/plans/2022/commitments?as_of=notadate", HTTP_X_API_KEY=key
            ).status_code
            == 422
        )
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_overview_page_queries_do_not_grow_with_the_plan(client, plan, dept, planner):
    client.force_login(planner)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/plans/?year=2022").status_code == 200
        return len(ctx.captured_queries)

    for index in range(3):
        approved_report(make_commitment(plan, dept, key=f"a{index}"), dt.date(2022, 8, 31), 100)
    small = queries()
    for index in range(40):
        approved_report(make_commitment(plan, dept, key=f"b{index}"), dt.date(2022, 8, 31), 100)
    assert queries() == small


def test_overview_filters_by_lead_department_or_any_involvement(
    client, plan, dept, other_dept, planner
):
    led = make_commitment(plan, dept, key="led", indicator="新增停车位")
    supported = make_commitment(plan, other_dept, key="sup", indicator="公园游园")
    supported.co_departments.add(dept)
    client.force_login(planner)
    with at("2022-09-30"):
        both = client.get(f"/plans/?year=2022&department={dept.pk}").content.decode()
        assert led.indicator in both and supported.indicator in both
        lead = client.get(f"/plans/?year=2022&department={dept.pk}&lead=1").content.decode()
        assert led.indicator in lead and supported.indicator not in lead


def test_assignment_from_excel_round_trip(client, parking, plan, dept, other_dept, planner, owner):
    second = make_commitment(plan, dept, key="s", indicator="公园游园")
    data = spreadsheets.plan_export(selectors.plan_status(plan, as_of=dt.date(2022, 7, 3)))
    rows = _template_rows(data)
    assert rows[1][5:7] == ["牵头单位", "配合单位"]
    by_id = {r[0]: r for r in rows[2:]}
    by_id[parking.pk][5] = other_dept.code
    by_id[parking.pk][6] = dept.code
    assert spreadsheets.assignments_import(data=_filled(rows), actor=planner, plan=plan) == 1
    parking.refresh_from_db()
    assert parking.lead_department == other_dept and list(parking.co_departments.all()) == [dept]
    # Errors name row and column, and nothing changes.
    by_id[second.pk][5] = "nosuch"
    by_id[parking.pk][5] = dept.code  # would be valid, must not be applied
    with pytest.raises(ValidationError) as info:
        spreadsheets.assignments_import(data=_filled(rows), actor=planner, plan=plan)
    assert len(info.value.messages) == 2  # the unknown code, and the lead also listed as co
    parking.refresh_from_db()
    assert parking.lead_department == other_dept
    with pytest.raises(PermissionDenied):
        spreadsheets.assignments_import(data=_filled(rows), actor=owner, plan=plan)
    client.force_login(owner)
    upload = io.BytesIO(_filled(rows))
    upload.name = "plan.xlsx"
    assert client.post("/plans/2022/assignments/", {"file": upload}).status_code == 403
    client.force_login(planner)
    upload.seek(0)
    assert client.post("/plans/2022/assignments/", {"file": upload}).status_code == 400

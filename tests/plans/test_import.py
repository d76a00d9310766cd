"""Importing a work report into a plan: extraction -> proposals -> review -> commitments."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from duban.audit.models import AuditEntry
from duban.audit.services import audit_verify
from duban.plans import services
from duban.plans.models import Commitment, Proposal, ReportImport

REPORT = """某区2022年工作报告

2021年工作回顾

2021年，全区完成地区生产总值500亿元，同比增长6%。

2022年主要目标

地区生产总值达到540亿元，同比增长8%；新增停车位6000个；垃圾分类覆盖率达到98%。
"""


@pytest.fixture
def imported(planner):
    return services.report_import_create(
        text=REPORT, year=2022, title="某区报告", actor=planner
    ).report_import


def _by(report_import, **kwargs):
    return report_import.proposals.get(**kwargs)


def test_import_creates_reviewable_proposals(imported):
    proposals = list(imported.proposals.all())
    assert imported.plan.year == 2022
    stances = {(p.stance, p.measure) for p in proposals}
    assert ("actual", "level") in stances and ("target", "level") in stances
    gdp = _by(imported, stance="target", measure="level", unit="元")
    assert gdp.value == Decimal("54000000000")
    assert REPORT[gdp.start : gdp.end] == gdp.text
    assert all(p.decision == Proposal.Decision.PENDING for p in proposals)


def test_reimporting_the_same_report_duplicates_nothing(imported, planner):
    again = services.report_import_create(text=REPORT, year=2022, title="again", actor=planner)
    assert not again.created and again.report_import.pk == imported.pk
    assert ReportImport.objects.count() == 1
    services.report_import_approve(report_import=imported, actor=planner)
    count = Commitment.objects.count()
    # A second copy of the report with a figure corrected updates, never duplicates.
    corrected = REPORT.replace("6000个", "6500个")
    second = services.report_import_create(text=corrected, year=2022, title="修订", actor=planner)
    services.report_import_approve(report_import=second.report_import, actor=planner)
    assert Commitment.objects.count() == count
    parking = Commitment.objects.get(unit="个")
    assert parking.value == Decimal("6500")


def test_approve_turns_targets_into_commitments_with_baselines(imported, planner):
    commitments = services.report_import_approve(report_import=imported, actor=planner)
    assert {c.measure for c in commitments} >= {"level", "growth", "share"}
    gdp = next(c for c in commitments if c.measure == "level" and c.unit == "元")
    assert gdp.baseline_value == Decimal("50000000000")
    assert gdp.baseline_year == 2021
    growth = next(c for c in commitments if c.measure == "growth")
    assert growth.baseline_value == Decimal("6")
    imported.refresh_from_db()
    assert imported.status == ReportImport.Status.APPROVED
    # Actuals are baselines, not tracked commitments.
    assert not Commitment.objects.filter(value=Decimal("50000000000")).exists()
    assert audit_verify().ok
    assert AuditEntry.objects.filter(action="commitment.create").count() == len(commitments)


def test_rejected_and_merged_proposals_are_not_tracked(imported, planner):
    parking = _by(imported, unit="个")
    services.proposal_decide(proposal=parking, actor=planner, decision="rejected")
    share = _by(imported, measure="share")
    growth = _by(imported, stance="target", measure="growth")
    with pytest.raises(ValidationError):
        services.proposal_decide(
            proposal=share, actor=planner, decision="merged", merge_into=parking
        )
    services.proposal_decide(proposal=share, actor=planner, decision="merged", merge_into=growth)
    commitments = services.report_import_approve(report_import=imported, actor=planner)
    units = {c.unit for c in commitments}
    assert "个" not in units
    assert not any(c.measure == "share" for c in commitments)
    share.refresh_from_db()
    assert share.commitment == Commitment.objects.get(measure="growth")


def test_edit_validates_and_marks_accepted(imported, planner):
    parking = _by(imported, unit="个")
    services.proposal_update(proposal=parking, actor=planner, changes={"value": Decimal("7000")})
    parking.refresh_from_db()
    assert parking.value == Decimal("7000") and parking.edited
    assert parking.decision == Proposal.Decision.ACCEPTED
    with pytest.raises(ValidationError):
        services.proposal_update(proposal=parking, actor=planner, changes={"comparator": "between"})
    with pytest.raises(ValidationError):
        services.proposal_update(proposal=parking, actor=planner, changes={"start": 0})


def test_approved_import_is_frozen(imported, planner):
    services.report_import_approve(report_import=imported, actor=planner)
    proposal = imported.proposals.first()
    with pytest.raises(ValidationError):
        services.proposal_decide(proposal=proposal, actor=planner, decision="rejected")
    with pytest.raises(ValidationError):
        services.report_import_approve(report_import=imported, actor=planner)


@pytest.mark.parametrize(
    ("text", "year", "message"),
    [
        ("", 2022, "empty"),
        ("   \n  ", 2022, "empty"),
        ("今天天气很好，我们去公园散步。", 2022, ""),
        (REPORT, 1999, "2000"),
    ],
)
def test_bad_reports_are_refused_with_a_reason(planner, text, year, message):
    with translation.override("en"), pytest.raises(ValidationError) as info:
        services.report_import_create(text=text, year=year, title="", actor=planner)
    assert message in " ".join(info.value.messages)
    assert ReportImport.objects.count() == 0


# --- views: planner (owner of the review), leader (reads), reporters (refused) -----------


def test_import_page_paste_review_edit_approve(client, planner):
    client.force_login(planner)
    assert client.get("/plans/import/").status_code == 200
    response = client.post("/plans/import/", {"title": "某区报告", "year": "2022", "text": REPORT})
    assert response.status_code == 302
    report_import = ReportImport.objects.get()
    review = client.get(response["Location"])
    body = review.content.decode()
    assert review.status_code == 200
    assert "<mark" in body and "新增停车位6000个" in body
    parking = _by(report_import, unit="个")
    response = client.post(
        f"/plans/proposals/{parking.pk}/edit/",
        {
            f"p{parking.pk}-{k}": v
            for k, v in {
                "stance": "target",
                "year": "2022",
                "indicator": "新增停车位",
                "measure": "level",
                "comparator": "ge",
                "value": "6000",
                "upper": "",
                "unit": "个",
                "deadline": "2022-12-31",
            }.items()
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    parking.refresh_from_db()
    assert parking.comparator == "ge"
    share = _by(report_import, measure="share")
    response = client.post(
        f"/plans/proposals/{share.pk}/decide/", {"decision": "rejected"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "decision-rejected" in response.content.decode()
    response = client.post(f"/plans/imports/{report_import.pk}/approve/")
    assert response.status_code == 302
    assert Commitment.objects.filter(plan=report_import.plan).count() >= 3
    overview = client.get("/plans/?year=2022")
    assert "新增停车位" in overview.content.decode()


def test_upload_a_text_file(client, planner):
    client.force_login(planner)
    upload = io.BytesIO(REPORT.encode("utf-8"))
    upload.name = "report.txt"
    response = client.post("/plans/import/", {"year": "2022", "file": upload})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", b"%PDF-1.4", ".txt"),
        ("report.txt", "某区".encode("gbk") + b"\xff\xfe\xfa", "UTF-8"),
    ],
)
def test_upload_refuses_wrong_files(client, planner, name, content, message):
    client.force_login(planner)
    upload = io.BytesIO(content)
    upload.name = name
    response = client.post("/plans/import/", {"year": "2022", "file": upload})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ReportImport.objects.count() == 0


def test_import_form_needs_text(client, planner):
    client.force_login(planner)
    response = client.post("/plans/import/", {"year": "2022", "text": ""})
    assert response.status_code == 400


def test_who_may_review(client, imported, planner, leader, owner, outsider):
    url = f"/plans/imports/{imported.pk}/"
    proposal = imported.proposals.first()
    decide = f"/plans/proposals/{proposal.pk}/decide/"
    approve = f"/plans/imports/{imported.pk}/approve/"
    client.force_login(leader)
    assert client.get(url).status_code == 200  # leaders read
    assert client.post(decide, {"decision": "rejected"}).status_code == 403
    assert client.post(approve).status_code == 403
    assert client.get("/plans/import/").status_code == 403
    for reporter in (owner, outsider):
        client.force_login(reporter)
        assert client.get(url).status_code == 403
        assert client.post(decide, {"decision": "rejected"}).status_code == 403
        assert client.post(approve).status_code == 403
        assert client.get("/plans/import/").status_code == 403
    proposal.refresh_from_db()
    assert proposal.decision == Proposal.Decision.PENDING
    client.force_login(planner)
    assert client.post(decide, {"decision": "bogus"}).status_code == 400
    assert client.post(decide, {"decision": "merged", "merge_into": "x"}).status_code == 400


def test_commitment_pages_follow_department(
    client, imported, planner, owner, colleague, outsider, dept
):
    services.report_import_approve(report_import=imported, actor=planner)
    commitment = Commitment.objects.first()
    services.commitment_assign(commitment=commitment, actor=planner, lead=dept)
    url = f"/plans/commitments/{commitment.pk}/"
    for allowed in (owner, colleague, planner):
        client.force_login(allowed)
        assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    # A reporter's overview lists only what their department carries.
    link = f"/plans/commitments/{commitment.pk}/"
    assert link not in client.get("/plans/?year=2022").content.decode()
    client.force_login(owner)
    assert link in client.get("/plans/?year=2022").content.decode()


def test_main_expected_targets_are_headlines(planner):
    text = REPORT.replace(
        "地区生产总值达到540亿元", "主要预期目标：地区生产总值达到540亿元"
    ).replace("；新增停车位6000个", "。\n\n全年新增停车位6000个")
    report_import = services.report_import_create(
        text=text, year=2022, title="", actor=planner
    ).report_import
    commitments = services.report_import_approve(report_import=report_import, actor=planner)
    headlines = {c.indicator for c in commitments if c.headline}
    assert "地区生产总值" in headlines
    assert not any(c.headline for c in commitments if c.unit == "个")

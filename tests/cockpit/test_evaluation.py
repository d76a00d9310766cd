"""效能考评 and the cockpit on small hand-made plans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from duban.audit.services import audit_verify
from duban.cockpit import evaluation
from duban.cockpit.models import EvaluationScheme
from duban.plans import tracking
from tests.plans.factories import approved_report, make_commitment, make_plan

SEP = dt.date(2022, 9, 30)


@pytest.fixture
def plan(db):
    return make_plan(2022)


@pytest.fixture
def story(plan, dept, other_dept, office):
    """dept: one green, one red commitment and a report overdue; other_dept: one green."""
    green = make_commitment(plan, dept, key="g", indicator="新增停车位", value=Decimal("1000"))
    red = make_commitment(plan, dept, key="r", indicator="公园游园", value=Decimal("1000"))
    other = make_commitment(plan, other_dept, key="o", indicator="新增学位", value=Decimal("1000"))
    approved_report(green, dt.date(2022, 8, 31), 900)
    approved_report(red, dt.date(2022, 7, 31), 100)  # far behind, and August not filed
    approved_report(other, dt.date(2022, 8, 31), 800)
    return {"green": green, "red": red, "other": other}


def _by_code(scores):
    return {s.department.code: s for s in scores}


def test_scores_are_weighted_means_minus_deductions(plan, story, dept, other_dept):
    scores = _by_code(evaluation.scores_for(plan=plan, period_end=SEP, with_items=True))
    mine, theirs = scores[dept.code], scores[other_dept.code]
    assert mine.commitments == Decimal("60.00")  # (100 + 20) / 2
    assert mine.deductions == Decimal("1.00")  # one overdue report
    # No projects or cases in this plan: the commitments part carries the whole weight.
    assert mine.total == Decimal("59.00")
    assert theirs.total == Decimal("100.00") and theirs.rank == 1 and mine.rank == 2
    # Every point is traceable to an item with a link.
    labels = [item.label for item in mine.items]
    assert any("新增停车位" in label for label in labels)
    assert any(item.part == "deduction" and item.points == Decimal("-1") for item in mine.items)
    assert all(item.url for item in mine.items)
    assert "duchashi" not in scores  # the office is not scored


def test_unanswered_notices_are_deducted_until_answered(plan, story, dept, planner, owner):
    with time_machine.travel(dt.datetime(2022, 8, 10, 10, tzinfo=dt.UTC), tick=False):
        notice = tracking.notice_draft(commitment=story["red"], trigger="red", reason="滞后")
        tracking.notice_issue(
            notice=notice, actor=planner, reply_deadline=dt.date(2022, 8, 20), email=False
        )
    aug = _by_code(evaluation.scores_for(plan=plan, period_end=dt.date(2022, 8, 31)))
    # The unanswered notice (2), and 新增停车位's July report, not filed by 31 August (1).
    assert aug[dept.code].deductions == Decimal("3.00")
    with time_machine.travel(dt.datetime(2022, 9, 5, 10, tzinfo=dt.UTC), tick=False):
        tracking.notice_reply(notice=notice, actor=owner, reply="原因", measures="措施")
    sep = _by_code(evaluation.scores_for(plan=plan, period_end=SEP))
    assert sep[dept.code].deductions == Decimal("1.00")  # answered; only the overdue report


def test_scheme_changes_make_a_new_version(plan, story, dept, planner, owner):
    first = evaluation.scheme_current()
    with pytest.raises(PermissionDenied):
        evaluation.scheme_update(actor=owner, deduct_overdue_report=Decimal(5))
    with pytest.raises(ValidationError):
        evaluation.scheme_update(
            actor=planner,
            weight_commitments=Decimal(0),
            weight_projects=Decimal(0),
            weight_cases=Decimal(0),
        )
    second = evaluation.scheme_update(actor=planner, deduct_overdue_report=Decimal(5))
    assert second.version == first.version + 1
    assert EvaluationScheme.objects.get(pk=first.pk).deduct_overdue_report == Decimal(1)
    scores = _by_code(evaluation.scores_for(plan=plan, period_end=SEP))
    assert scores[dept.code].total == Decimal("55.00")
    assert audit_verify().ok


def test_movement_between_periods(plan, story, dept, other_dept):
    scores = _by_code(evaluation.scores_with_movement(plan=plan, period_end=SEP))
    # In August both were on pace (the red one had not yet fallen behind by the end of July).
    assert scores[dept.code].previous_rank is not None
    assert scores[dept.code].movement == scores[dept.code].previous_rank - scores[dept.code].rank


def test_period_ends():
    assert evaluation.period_ends(2022, "quarter", SEP) == [
        dt.date(2022, 3, 31),
        dt.date(2022, 6, 30),
        SEP,
    ]
    assert len(evaluation.period_ends(2022, "month", SEP)) == 9


# --- pages ------------------------------------------------------------------------------------


@pytest.fixture
def at_sep():
    with time_machine.travel(dt.datetime(2022, 10, 1, 2, tzinfo=dt.UTC), tick=False):
        yield


def test_cockpit_for_leaders_and_planners_only(
    client, story, at_sep, leader, planner, owner, outsider, plan
):
    story["green"].headline = True
    story["green"].save()
    for user in (leader, planner):
        client.force_login(user)
        page = client.get("/cockpit/")
        body = page.content.decode()
        assert page.status_code == 200
        assert "新增停车位" in body and "data-figure" in body
        assert "公园游园" in body  # on the red list
        assert client.get("/cockpit/?wall=1").status_code == 200
    for user in (owner, outsider):
        client.force_login(user)
        assert client.get("/cockpit/").status_code == 403
        assert client.get("/cockpit/evaluation/").status_code == 403


def test_evaluation_pages(client, story, at_sep, leader, planner, owner, colleague, outsider, dept):
    client.force_login(leader)
    page = client.get("/cockpit/evaluation/?kind=quarter&period=2022-09-30")
    assert page.status_code == 200 and dept.name in page.content.decode()
    assert client.get("/cockpit/evaluation/?kind=year").status_code == 400
    assert client.get("/cockpit/evaluation/?period=2022-09-15").status_code == 400
    assert client.get("/cockpit/evaluation/?period=2022-12-31").status_code == 400  # not ended
    xlsx = client.get("/cockpit/evaluation/?format=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/cockpit/evaluation/?print=1").status_code == 200
    url = f"/cockpit/evaluation/department/{dept.code}/"
    for allowed in (leader, owner, colleague):
        client.force_login(allowed)
        assert "公园游园" in client.get(url).content.decode()
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_cockpit_ranking_opens_the_same_days_score(client, story, at_sep, leader, dept, plan):
    """The cockpit ranks the month so far (10-01 here); a bar opens the department's page
    for that day, with the same total."""
    client.force_login(leader)
    cockpit = client.get("/cockpit/")
    link = f"/cockpit/evaluation/department/{dept.code}/?kind=month&period=2022-10-01"
    assert link in cockpit.context["chart_ranking"]
    ranked = {s.department.code: s.total for s in cockpit.context["scores"]}
    page = client.get(f"/cockpit/evaluation/department/{dept.code}/?kind=month&period=2022-10-01")
    assert page.status_code == 200
    assert page.context["score"].total == ranked[dept.code]
    # Only today's month so far, not any day.
    later = f"/cockpit/evaluation/department/{dept.code}/?kind=month&period=2022-10-02"
    assert client.get(later).status_code == 400


def test_scheme_page(client, at_sep, planner, leader, db):
    client.force_login(leader)
    assert client.get("/cockpit/evaluation/scheme/").status_code == 403
    client.force_login(planner)
    assert client.get("/cockpit/evaluation/scheme/").status_code == 200
    data = {
        "weight_commitments": "60",
        "weight_projects": "20",
        "weight_cases": "20",
        "deduct_overdue_report": "1",
        "deduct_unanswered_notice": "2",
        "deduct_overdue_case": "0.2",
        "deduct_returned_case": "0.1",
        "deduct_overdue_problem": "0.5",
        "note": "2022年方案",
    }
    assert client.post("/cockpit/evaluation/scheme/", data).status_code == 302
    assert evaluation.scheme_current().weight_commitments == Decimal(60)
    assert (
        client.post("/cockpit/evaluation/scheme/", {**data, "weight_cases": "-5"}).status_code
        == 400
    )


def test_project_problems_past_their_deadline_are_deducted_from_the_assigned_department(
    plan, story, dept, other_dept, planner
):
    from duban.projects.models import Problem
    from tests.projects.conftest import make_project

    # other_dept leads the project; the problems are dept's to solve.
    project = make_project(other_dept, "P-1", start_planned=dt.date(2022, 5, 1))

    def problem(deadline, **fields):
        return Problem.objects.create(
            project=project,
            category="land",
            description="用地指标未落实",
            assigned_department=dept,
            deadline=deadline,
            raised_by=planner,
            raised_on=dt.date(2022, 6, 1),
            **fields,
        )

    problem(dt.date(2022, 9, 1))  # open and past its deadline
    problem(dt.date(2022, 9, 10))  # open and past its deadline
    problem(dt.date(2022, 10, 31))  # open, not due yet
    problem(dt.date(2022, 8, 1), status="resolved", resolved_on=dt.date(2022, 7, 20))
    before = _by_code(evaluation.scores_for(plan=plan, period_end=SEP))[dept.code].deductions
    assert before == Decimal("2.00")  # one overdue report + 2 × 0.5
    items = [
        item
        for item in _by_code(evaluation.scores_for(plan=plan, period_end=SEP))[dept.code].items
        if item.url == "/projects/problems/"
    ]
    assert [item.points for item in items] == [Decimal("-1.00")]
    theirs = _by_code(evaluation.scores_for(plan=plan, period_end=SEP))[other_dept.code]
    assert theirs.deductions == Decimal("0.00")
    evaluation.scheme_update(actor=planner, deduct_overdue_problem=Decimal(0))
    after = _by_code(evaluation.scores_for(plan=plan, period_end=SEP))[dept.code].deductions
    assert after == Decimal("1.00")

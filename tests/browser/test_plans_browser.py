"""The import round trip and the tracking pages, in a real browser."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from duban.accounts.models import Department
from duban.plans.models import Commitment, Plan, Proposal
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user
from tests.plans.factories import approved_report, make_commitment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = """某区2022年工作报告

2021年工作回顾

2021年，全区完成地区生产总值500亿元，同比增长6%。

2022年主要目标

地区生产总值达到540亿元，同比增长8%；新增停车位6000个；垃圾分类覆盖率达到98%。
"""


@pytest.fixture
def users(db):
    office = Department.objects.create(name="督查室", code="duchashi", is_supervision_office=True)
    dept = Department.objects.create(name="城市管理局", code="chengguan")
    return {
        "planner": make_user("planner", "planner", office),
        "owner": make_user("owner", "reporter", dept),
        "dept": dept,
    }


def test_import_review_approve_in_the_browser(page, live_server, users):
    log_in(page, live_server, "planner", PASSWORD)
    page.goto(f"{live_server.url}/plans/import/")
    page.fill("textarea[name=text]", REPORT)
    page.fill("input[name=year]", "2022")
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/plans/imports/\d+/$"))
    expect(page.locator("#source mark").first).to_be_visible()

    parking = Proposal.objects.get(unit="个")
    card = page.locator(f"#proposal-{parking.position}")
    # "show in text" highlights its clause in the source pane.
    card.locator(".show-source").click()
    expect(page.locator("#source mark.active")).to_contain_text("6000")

    # Edit inline (htmx): the card turns into a form and back, without a page load.
    card.get_by_role("link", name="修改").click()
    card = page.locator(f"#proposal-{parking.position}")
    card.locator(f"input[name=p{parking.pk}-value]").fill("6500")
    card.get_by_role("button", name="保存").click()
    expect(page.locator(f"#proposal-{parking.position} .what")).to_contain_text("6500")

    share = Proposal.objects.get(measure="share")
    page.locator(f"#proposal-{share.position}").get_by_role("button", name="剔除").click()
    expect(page.locator(f"#proposal-{share.position}")).to_have_class(
        re.compile("decision-rejected")
    )

    page.get_by_role("button", name=re.compile("审核通过")).click()
    expect(page).to_have_url(re.compile(r"/plans/\?year=2022"))
    expect(page.locator("table.status-table")).to_contain_text("新增停车位")
    assert Commitment.objects.get(unit="个").value == 6500
    assert not Commitment.objects.filter(measure="share").exists()
    assert page.console_errors == []


def test_commitment_chart_renders_and_outsiders_are_refused(page, live_server, users):
    plan = Plan.objects.create(year=2022, title="2022年度工作计划")
    commitment = make_commitment(plan, users["dept"])
    for month in (1, 2, 3):
        approved_report(commitment, dt.date(2022, month, 28 if month == 2 else 31), 500 * month)
    log_in(page, live_server, "planner", PASSWORD)
    page.goto(f"{live_server.url}/plans/commitments/{commitment.pk}/?as_of=2022-04-10")
    expect(page.locator("#chart .main-svg").first).to_be_attached()
    expect(page.locator("#chart .scatterlayer .trace")).to_have_count(2)
    assert page.console_errors == []

    outsider_dept = Department.objects.create(name="教育局", code="jiaoyu")
    make_user("outsider", "reporter", outsider_dept)
    page.context.clear_cookies()
    log_in(page, live_server, "outsider", PASSWORD)
    response = page.goto(f"{live_server.url}/plans/commitments/{commitment.pk}/")
    assert response.status == 403
    response = page.goto(f"{live_server.url}/plans/import/")
    assert response.status == 403

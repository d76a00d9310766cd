"""Hotline operators (话务员): they enter calls, look cases up by ticket number and read a
case with its reporter's contact data; they dispatch, approve, verify nothing, and see
no KPIs, plans, projects or cockpit. Every view with named users: an operator, a planner,
the handling department's reporter (owner) and an outsider (a reporter of another
department), who must be refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from duban.cases import services
from duban.cases.models import Case, CaseEvent, Status
from tests.conftest import make_user

from .test_pages import PNG, PRIVATE, form_data

pytestmark = pytest.mark.django_db

REASON = "not for hotline operators"


@pytest.fixture
def operator(db):
    return make_user("operator", "operator", None)


@pytest.fixture
def dispatched(friday, make_case, planner):
    return services.case_dispatch(case=make_case().case, actor=planner)


def test_an_operator_enters_a_call_on_the_hotline(login, friday, category, operator):
    client = login(operator)
    page = client.get("/cases/new/").content.decode()
    assert "Caller&#x27;s name" in page or "Caller's name" in page
    assert 'name="channel"' not in page  # a call is a hotline case
    # A channel sent anyway is ignored: an operator's entries are calls.
    response = client.post("/cases/new/", form_data(category, channel="inspection"))
    assert response.status_code == 201, response.content.decode()
    case = Case.objects.get()
    assert case.channel == "hotline" and case.status == Status.REGISTERED
    received = CaseEvent.objects.get(case=case, kind="received")
    assert received.actor == operator and received.actor_label
    assert case.ticket in response.content.decode()
    assert f"/cases/{case.pk}/" in response.content.decode()  # "open the case"
    assert "Read the ticket number out to the caller" in response.content.decode()
    # Bad input is a form error, never a traceback.
    bad = client.post("/cases/new/", form_data(category, description="", reporter_phone="x"))
    assert bad.status_code == 400 and Case.objects.count() == 1


def test_planners_keep_the_channel_choice(login, friday, category, planner, owner):
    response = login(planner).post("/cases/new/", form_data(category, channel="inspection"))
    assert response.status_code == 201
    assert Case.objects.get().channel == "inspection"
    # A department's reporter files like a citizen: the web form, not registered.
    assert login(owner).post("/cases/new/", form_data(category)).status_code == 201
    case = Case.objects.order_by("-id").first()
    assert case.channel == "web" and case.status == Status.RECEIVED


def test_hotline_page(
    client, login, friday, make_case, category, operator, planner, owner, outsider, leader
):
    assert client.get("/cases/hotline/").status_code == 302  # log in first
    client = login(operator)
    assert client.get("/cases/").url == "/cases/hotline/"
    client.post("/cases/new/", form_data(category))
    mine = Case.objects.get()
    someone_elses = make_case(description="别人的").case
    html = client.get("/cases/hotline/").content.decode()
    assert mine.ticket in html and someone_elses.ticket not in html
    assert 'action="/cases/find/"' in html and 'href="/cases/new/"' in html
    assert login(planner).get("/cases/hotline/").status_code == 200
    refused = login(owner).get("/cases/hotline/")
    assert refused.status_code == 403 and "for the centre&#x27;s operators" in (
        refused.content.decode()
    )
    assert login(outsider).get("/cases/hotline/").status_code == 403
    assert login(leader).get("/cases/hotline/").status_code == 403


def test_find_by_ticket(client, login, dispatched, operator, planner, owner, outsider, leader):
    case = dispatched
    url = f"/cases/find/?ticket={case.ticket}"
    assert client.get(url).status_code == 302 and "/accounts/login/" in client.get(url).url
    for user in (operator, planner, owner, leader):
        response = login(user).get(url)
        assert response.status_code == 302 and response.url == f"/cases/{case.pk}/", user
    refused = login(outsider).get(url)
    assert refused.status_code == 403 and "another department" in refused.content.decode()

    client = login(operator)
    assert client.get("/cases/find/").status_code == 200  # the form
    # As read out over the phone and typed with a Chinese input method.
    wide = case.ticket.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    assert client.get(f"/cases/find/?ticket= {wide} ").url == f"/cases/{case.pk}/"
    day, number = case.ticket.split("-")
    wrong_day = client.get(f"/cases/find/?ticket=20220101-{number}")
    assert wrong_day.status_code == 404
    assert f"No case has the ticket number 20220101-{number}" in wrong_day.content.decode()
    assert client.get(f"/cases/find/?ticket={day}-999999").status_code == 404
    for junk in ("", "abc", "2022-09-30", "20221340-1", "1" * 41, f"{day}-{'9' * 13}"):
        response = client.get("/cases/find/", {"ticket": junk})
        assert response.status_code == 400, junk
        assert "like 20220930-123" in response.content.decode() or junk in ("", "1" * 41)


def test_case_page(login, dispatched, operator, planner, owner, outsider, leader):
    url = f"/cases/{dispatched.pk}/"
    html = login(operator).get(url).content.decode()
    for secret in PRIVATE:  # centre staff: the caller's contact, to call back
        assert secret in html
    assert 'id="operator-note"' in html
    for action in ("dispatch", "approve", "verify", "void", "notice", "accept", "close"):
        assert f'value="{action}"' not in html
    for user in (planner, owner):
        assert "13912345678" in login(user).get(url).content.decode()
    assert "13912345678" not in login(leader).get(url).content.decode()
    assert login(outsider).get(url).status_code == 403


@pytest.mark.parametrize(
    "data",
    [
        {"action": "dispatch"},
        {"action": "register"},
        {"action": "approve"},
        {"action": "refuse", "note": "不同意"},
        {"action": "verify"},
        {"action": "send_back", "note": "x"},
        {"action": "close"},
        {"action": "void", "note": "无效"},
        {"action": "notice", "note": "请加快"},
        {"action": "resume"},
        {"action": "accept"},
        {"action": "respond", "note": "已联系"},
        {"action": "request_extension", "note": "x", "amount": "2"},
    ],
    ids=lambda d: d["action"],
)
def test_an_operator_takes_no_workflow_step(login, friday, make_case, planner, operator, data):
    case = make_case().case
    response = login(operator).post(f"/cases/{case.pk}/act/", data)
    assert response.status_code == 403
    assert REASON in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.RECEIVED and not case.events.exclude(kind="received").exists()


def test_workflow_steps_stay_with_the_centre_and_the_department(
    login, friday, make_case, planner, owner, outsider, dept
):
    case = make_case().case
    assert login(outsider).post(f"/cases/{case.pk}/act/", {"action": "dispatch"}).status_code == 403
    assert login(planner).post(f"/cases/{case.pk}/act/", {"action": "dispatch"}).status_code == 302
    assert login(outsider).post(f"/cases/{case.pk}/act/", {"action": "accept"}).status_code == 403
    assert login(owner).post(f"/cases/{case.pk}/act/", {"action": "accept"}).status_code == 302
    # An operator seated in the handling department is still no handler.
    seated = make_user("seated", "operator", dept)
    response = login(seated).post(f"/cases/{case.pk}/act/", {"action": "respond", "note": "x"})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_desk_queue_and_kpis_are_refused_with_a_reason(
    login, dispatched, operator, planner, owner, outsider
):
    client = login(operator)
    for url in (
        "/cases/desk/",
        "/cases/queue/",
        "/cases/queue/?department=chengguan",
        "/cases/kpi/",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert REASON in response.content.decode(), url
    for url in ("/cases/desk/", "/cases/queue/", "/cases/kpi/"):
        assert login(planner).get(url).status_code == 200, url
    assert login(owner).get("/cases/queue/").status_code == 200
    assert login(owner).get("/cases/desk/").status_code == 403
    assert login(owner).get("/cases/kpi/").status_code == 403
    assert login(outsider).get("/cases/queue/?department=chengguan").status_code == 403


def test_photos(login, friday, make_case, planner, operator, outsider, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = make_case(photos=[SimpleUploadedFile("a.png", PNG)]).case.photos.get()
    assert login(operator).get(f"/cases/photos/{photo.pk}/").status_code == 200
    assert login(outsider).get(f"/cases/photos/{photo.pk}/").status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/plans/",
        "/plans/import/",
        "/plans/notices/",
        "/projects/",
        "/cockpit/",
        "/audit/",
        "/admin/",
        "/api/v1/plans/2022/commitments",
        "/api/v1/projects/",
    ],
)
def test_plans_projects_cockpit_and_the_rest_are_closed_to_operators(login, operator, url):
    response = login(operator).get(url)
    assert response.status_code == 403
    assert "Hotline operators work on the cases pages only" in response.content.decode()


def test_an_operator_starts_on_the_hotline_page_and_sees_only_what_they_can_use(
    login, operator, planner
):
    client = login(operator)
    home = client.get("/")
    assert home.status_code == 302 and home.url == "/cases/"
    html = client.get("/cases/hotline/").content.decode()
    nav = html.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for url in ('"/cases/hotline/"', '"/cases/new/"', '"/cases/find/"'):
        assert url in nav
    for url in ("/plans/", "/projects/", "/cockpit/", "/cases/desk/", "/cases/kpi/"):
        assert url not in nav
    assert 'name="as_of"' not in html  # no time travel
    assert "Hotline operator" in html  # the role in the top bar
    # Others' navigation is unchanged.
    planner_nav = login(planner).get("/cases/hotline/").content.decode()
    assert 'href="/plans/"' in planner_nav


def test_the_operator_pages_speak_chinese(client, login, dispatched, operator, settings):
    from django.utils import translation

    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        client = login(operator)
        html = client.get("/cases/hotline/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "登记来电" in html and "查询案件" in html and "话务员" in html
        page = client.get(f"/cases/{dispatched.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert "诉求人" in page.content.decode()  # the citizen, not 单位填报员 (a role)
        refused = client.get("/cases/desk/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "话务员不能使用" in refused and "派单台" in refused


def test_open311_is_open_to_operators_too(login, operator, category):
    """Open311 is public: the operators' gate names its namespace."""
    client = login(operator)
    assert client.get("/open311/v2/services.json").status_code == 200
    assert client.get("/open311/v2/discovery.json").status_code == 200

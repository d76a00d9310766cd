"""Pages: the public form and tracking page, the dispatch desk, department queues, case
detail, KPIs — with permissions and privacy on every public output."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from duban.cases import services
from duban.cases.models import Case, Status

from .conftest import at

pytestmark = pytest.mark.django_db
PRIVATE = ("张三丰", "13912345678", "zsf@example.com")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def form_data(category, **extra):
    data = {
        "category": category.pk,
        "description": "楼下烧烤店深夜噪音",
        "address": "金水东路1号",
        "attribute[when]": "night",
        "reporter_name": "张三丰",
        "reporter_phone": "13912345678",
        "reporter_email": "zsf@example.com",
    }
    data.update(extra)
    return data


def test_anonymous_citizen_files_and_follows_a_case(client, friday, category, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    response = client.post("/cases/new/", {**form_data(category), "photos": [photo]})
    assert response.status_code == 201, response.content.decode()
    case = Case.objects.get()
    assert case.channel == "web" and case.status == Status.RECEIVED
    assert case.photos.count() == 1
    html = response.content.decode()
    assert case.ticket in html
    link = re.search(r'id="tracking-link" href="([^"]+)"', html).group(1)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 32 and case.tracking_hash != token  # only a hash is stored
    page = client.get(f"/cases/t/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert case.ticket in body and "2022-10-10 18:00" in body
    for secret in PRIVATE:
        assert secret not in body
    assert client.get("/cases/t/not-a-real-token/").status_code == 404


def test_form_errors_are_400_with_the_reason(client, friday, category):
    response = client.post("/cases/new/", form_data(category, **{"attribute[when]": ""}))
    assert response.status_code == 400
    assert "required" in response.content.decode()
    response = client.post("/cases/new/", form_data(category, reporter_email="nope"))
    assert response.status_code == 400
    bad = SimpleUploadedFile("p.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = client.post("/cases/new/", {**form_data(category), "photos": [bad]})
    assert response.status_code == 400 and "not an accepted type" in response.content.decode()
    assert Case.objects.count() == 0


def test_attribute_questions_follow_the_category(client, category):
    html = client.get("/cases/new/attributes/", {"category": category.pk}).content.decode()
    assert 'name="attribute[when]"' in html and "夜间" in html
    assert client.get("/cases/new/attributes/", {"category": "x"}).status_code == 200


def test_the_ui_is_chinese_by_default(client, settings, category):
    settings.LANGUAGE_CODE = "zh-hans"
    from django.utils import translation

    with translation.override("zh-hans"):
        html = client.get("/cases/new/").content.decode()
    assert "反映问题" in html


def _track(client, case_token):
    return client.get(f"/cases/t/{case_token}/")


def test_citizen_feedback_dissatisfied_reopens(client, friday, make_case, planner, owner):
    intake = make_case()
    case = intake.case
    services.case_dispatch(case=case, actor=planner)
    services.case_accept(case=case, actor=owner)
    services.case_respond(case=case, actor=owner, note="电话联系")
    services.case_resolve(case=case, actor=owner, result="已责令整改，张三丰已知悉")
    url = f"/cases/t/{intake.tracking_token}/"
    assert 'name="satisfaction"' in client.get(url).content.decode()
    assert client.post(url, {"satisfaction": "meh"}).status_code == 400
    response = client.post(url, {"satisfaction": "dissatisfied", "solved": "no", "comment": "还吵"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.reopen_count == 1
    assert 'name="satisfaction"' not in client.get(url).content.decode()


def test_desk_one_click_dispatch_to_the_suggested_department(
    login, friday, make_case, planner, dept
):
    case = make_case().case
    client = login(planner)
    html = client.get("/cases/desk/").content.decode()
    assert case.ticket in html and f'value="{dept.pk}" selected' in html
    response = client.post(
        f"/cases/{case.pk}/act/", {"action": "dispatch", "department": dept.pk, "next": "desk"}
    )
    assert response.status_code == 302 and response.url == "/cases/desk/"
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.department == dept


def test_desk_is_for_the_centre(login, owner, leader, client):
    assert login(owner).get("/cases/desk/").status_code == 403
    assert login(leader).get("/cases/desk/").status_code == 200
    client.logout()
    assert client.get("/cases/desk/").status_code == 302


def test_queue_shows_only_the_own_department(
    login, friday, make_case, planner, owner, outsider, other_dept
):
    mine = services.case_dispatch(case=make_case().case, actor=planner)
    theirs = services.case_dispatch(
        case=make_case(description="别的").case, actor=planner, department=other_dept
    )
    html = login(owner).get("/cases/queue/").content.decode()
    assert mine.ticket in html and theirs.ticket not in html
    assert login(owner).get("/cases/queue/?department=jiaowen").status_code == 403
    assert login(outsider).get(f"/cases/{mine.pk}/").status_code == 403
    assert login(outsider).post(f"/cases/{mine.pk}/act/", {"action": "accept"}).status_code == 403
    html = login(planner).get("/cases/queue/?department=jiaowen").content.decode()
    assert theirs.ticket in html and mine.ticket not in html
    assert login(planner).get("/cases/queue/?scope=nonsense").status_code == 400
    assert login(planner).get("/cases/queue/?before=abc").status_code == 400


def test_keyset_pagination(login, friday, make_case, planner):
    cases = [make_case().case for _ in range(55)]
    client = login(planner)
    first = client.get("/cases/queue/?scope=all").content.decode()
    assert f'/cases/{cases[-1].pk}/"' in first and f'/cases/{cases[0].pk}/"' not in first
    next_before = re.search(r'before=(\d+)"', first).group(1)
    second = client.get(f"/cases/queue/?scope=all&before={next_before}").content.decode()
    assert f'/cases/{cases[0].pk}/"' in second and f'/cases/{cases[-1].pk}/"' not in second


def test_detail_actions_and_refusals(login, friday, make_case, planner, owner, leader):
    case = services.case_dispatch(case=make_case().case, actor=planner)
    client = login(owner)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "13912345678" in html  # the handling department sees the reporter
    assert client.post(f"/cases/{case.pk}/act/", {"action": "accept"}).status_code == 302
    response = client.post(f"/cases/{case.pk}/act/", {"action": "resolve", "note": "x"})
    assert response.status_code == 400
    assert "Cannot resolve" in response.content.decode()
    assert client.post(f"/cases/{case.pk}/act/", {"action": "fly"}).status_code == 400
    assert client.post(f"/cases/{case.pk}/act/", {"action": "close"}).status_code == 403
    response = client.post(
        f"/cases/{case.pk}/act/", {"action": "request_extension", "note": "x", "amount": "9999"}
    )
    assert response.status_code == 400
    html = login(leader).get(f"/cases/{case.pk}/").content.decode()
    assert "13912345678" not in html and "张三丰" not in html  # leaders: no personal data
    timeline = login(planner).get(f"/cases/{case.pk}/").content.decode()
    assert "owner" in timeline and "planner" in timeline


def test_photo_of_a_case_is_served_only_to_those_who_see_the_case(
    login, friday, make_case, planner, outsider, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    case = make_case(photos=[SimpleUploadedFile("a.png", PNG)]).case
    photo = case.photos.get()
    assert login(planner).get(f"/cases/photos/{photo.pk}/").status_code == 200
    assert login(outsider).get(f"/cases/photos/{photo.pk}/").status_code == 403


def test_index_sends_everyone_to_their_page(client, login, planner, owner):
    assert client.get("/cases/").url == "/cases/new/"
    assert login(planner).get("/cases/").url == "/cases/desk/"
    assert login(owner).get("/cases/").url == "/cases/queue/"


def test_staff_entry_registers_at_once(login, friday, category, planner):
    response = login(planner).post("/cases/new/", form_data(category, channel="hotline"))
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.channel == "hotline" and case.status == Status.REGISTERED


def test_kpi_page(login, friday, make_case, planner, owner):
    make_case()
    client = login(planner)
    assert client.get("/cases/kpi/").status_code == 200
    assert (
        client.get("/cases/kpi/?group=channel&start=2022-01-01&end=2022-12-31").status_code == 200
    )
    assert client.get("/cases/kpi/?group=bogus").status_code == 400
    assert client.get("/cases/kpi/?start=2022-12-01&end=2022-01-01").status_code == 400
    assert login(owner).get("/cases/kpi/").status_code == 403


def test_nav_links_to_cases(login, planner):
    assert 'href="/cases/"' in login(planner).get("/").content.decode()


def test_a_merged_citizen_follows_the_case_it_was_merged_into(
    client, friday, make_case, planner, owner
):
    first = make_case().case
    second = make_case()
    services.case_void(case=second.case, actor=planner, reason="重复件", duplicate_of=first)
    services.case_dispatch(case=first, actor=planner)
    body = client.get(f"/cases/t/{second.tracking_token}/").content.decode()
    assert first.ticket in body and "Dispatched" in body


def test_a_deadline_in_an_uncovered_year_is_shown_to_the_user(client, time_machine, category):
    time_machine.move_to(at(2026, 12, 30, 10), tick=False)
    response = client.post("/cases/new/", form_data(category))
    assert response.status_code == 400
    assert "does not cover 2027" in response.content.decode()
    assert Case.objects.count() == 0


def test_open311_reports_the_uncovered_year_as_a_400(client, time_machine, category, planner):
    from duban.accounts.tokens import api_client_create

    api_client_create(name="app", scope="open311", actor=planner, raw_key="k" * 20)
    time_machine.move_to(at(2026, 12, 30, 10), tick=False)
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": "k" * 20,
            "service_code": "noise",
            "address_string": "x",
            "description": "y",
            "attribute[when]": "day",
        },
    )
    assert response.status_code == 400
    assert "2027" in response.json()[0]["description"]


def test_detail_renders_in_every_state_for_centre_and_department(
    login, friday, make_case, planner, owner
):
    case = make_case().case
    pages = []

    def render():
        for user in (planner, owner):
            response = login(user).get(f"/cases/{case.pk}/")
            if user is owner and case.department_id is None:
                assert response.status_code == 403
                continue
            assert response.status_code == 200
            pages.append(response.content.decode())

    render()
    case = services.case_dispatch(case=case, actor=planner)
    render()
    case = services.case_accept(case=case, actor=owner)
    services.case_request(case=case, actor=owner, kind="suspension", reason="等待答复")
    render()
    assert "Approve" in pages[-2]
    case = services.case_decide(case=case, actor=planner, approve=True)
    render()
    case = services.case_resume(case=case, actor=planner)
    case = services.case_respond(case=case, actor=owner, note="已联系")
    case = services.case_resolve(case=case, actor=owner, result="已处理")
    render()
    assert "Send back" in pages[-2]
    case = services.case_verify(case=case, actor=planner)
    case = services.case_close(case=case, actor=planner)
    render()
    assert "Closed" in pages[-1]
    other = make_case().case
    services.case_void(case=other, actor=planner, reason="重复", duplicate_of=case)
    html = login(planner).get(f"/cases/{other.pk}/").content.decode()
    assert case.ticket in html and "Void" in html


def test_desk_proposes_duplicates(login, friday, make_case, planner):
    first = make_case().case
    second = make_case().case
    html = login(planner).get("/cases/desk/").content.decode()
    assert f"duplicate? {first.ticket}" in html
    assert f"duplicate? {second.ticket}" not in html  # only earlier cases are proposed

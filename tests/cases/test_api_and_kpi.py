"""The JSON intake API for other systems, and KPIs counted by the database."""

from __future__ import annotations

import json

import pytest

from duban.accounts.tokens import api_client_create
from duban.cases import conf, selectors, services
from duban.cases.models import Case

from .conftest import at

pytestmark = pytest.mark.django_db
KEY = "cases-key-0123456789abcdef"


@pytest.fixture
def system(planner):
    return api_client_create(name="无人机巡查", scope="cases", actor=planner, raw_key=KEY)[0]


def post(client, key=KEY, **data):
    body = {
        "service_code": "noise",
        "description": "无人机发现工地夜间施工",
        "channel": "drone",
        "lat": "34.77",
        "long": "113.73",
        "attributes": {"when": "night"},
        **data,
    }
    return client.post(
        "/api/v1/cases/", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key
    )


def test_file_a_case_and_retry_safely(client, friday, category, system):
    response = post(client, external_id="DR-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service_request_id"] == Case.objects.get().ticket
    assert body["expected_datetime"].startswith("2022-10-10T18:00:00+08:00")
    again = post(client, external_id="DR-1")
    assert again.status_code == 200 and again.json() == body
    assert Case.objects.count() == 1
    status = client.get(f"/api/v1/cases/{body['service_request_id']}", HTTP_X_API_KEY=KEY)
    assert status.status_code == 200 and status.json()["status"] == "received"


@pytest.mark.parametrize(
    ("key", "data", "status"),
    [
        ("wrong", {}, 401),
        (KEY, {"service_code": "nope"}, 404),
        (KEY, {"channel": "pigeon"}, 400),
        (KEY, {"description": ""}, 422),
        (KEY, {"lat": "200"}, 422),
        (KEY, {"attributes": {"when": "noon"}}, 400),
        (KEY, {"media_url": "file:///etc/passwd"}, 400),
    ],
)
def test_bad_submissions_are_refused(client, friday, category, system, key, data, status):
    response = post(client, key=key, **data)
    assert response.status_code == status
    assert Case.objects.count() == 0


def test_another_systems_case_is_not_visible(client, friday, category, system, planner):
    other = api_client_create(name="其他", scope="cases", actor=planner, raw_key="other-key-123")[0]
    case = services.case_create(
        category=category,
        channel="api",
        description="x",
        address="y",
        attributes={"when": "day"},
        api_client=other,
    ).case
    assert client.get(f"/api/v1/cases/{case.ticket}", HTTP_X_API_KEY=KEY).status_code == 404


def test_kpis_per_department_in_the_database(
    time_machine, make_case, category, planner, owner, monkeypatch
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    cases = [make_case().case for _ in range(4)]
    for case in cases:
        services.case_dispatch(case=case, actor=planner)
        services.case_accept(case=case, actor=owner)
    # Two respond in time (by 11:00), one late, one never.
    for case in cases[:2]:
        services.case_respond(case=case, actor=owner, note="ok")
    time_machine.move_to(at(2022, 9, 26, 14), tick=False)
    services.case_respond(case=cases[2], actor=owner, note="late")
    for case in cases[:3]:
        services.case_resolve(case=case, actor=owner, result="done")
    services.case_feedback(case=cases[0], satisfaction="satisfied", solved=True)
    services.case_feedback(case=cases[1], satisfaction="basic", solved=True)
    services.case_feedback(case=cases[2], satisfaction="dissatisfied", solved=False)
    services.case_request(case=cases[3], actor=owner, kind="extension", reason="x", amount=1)
    services.case_decide(case=cases[3], actor=planner, approve=True)
    monkeypatch.setattr(conf, "BASIC_SATISFIED_PERCENT", 50)
    (row,) = selectors.kpis(
        group="department", start=at(2022, 9, 1).date(), end=at(2022, 9, 30).date()
    )
    assert row.key == "城市管理局" and row.total == 4 and row.dispatched == 4
    assert row.response_rate == 2 / 4
    assert row.resolution_rate == 2 / 3
    assert row.satisfaction_rate == (1 + 0.5) / 3
    assert row.ontime_rate == 2 / 2  # cases[2] was reopened: no longer resolved
    assert row.extension_rate == 1 / 4 and row.return_rate == 0
    assert row.repeats == 1
    (by_channel,) = selectors.kpis(
        group="channel", start=at(2022, 9, 1).date(), end=at(2022, 9, 30).date()
    )
    assert by_channel.key == "web"
    assert (
        selectors.kpis(group="category", start=at(2022, 1, 1).date(), end=at(2022, 1, 2).date())
        == []
    )


def test_possible_duplicates_by_address_and_distance(friday, make_case):
    first = make_case(lat="34.770000", long="113.730000").case
    near = make_case(address="别处", lat="34.770500", long="113.730000").case  # ~55 m
    far = make_case(address="远处", lat="34.790000", long="113.730000").case
    again = make_case().case
    assert first in selectors.possible_duplicates(again)
    assert first in selectors.possible_duplicates(near)
    assert selectors.possible_duplicates(far) == []

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import override_settings

from duban import clock


@time_machine.travel(dt.datetime(2022, 3, 15, 10, 0, tzinfo=dt.UTC), tick=False)
def test_today_follows_the_real_clock_in_local_time():
    assert clock.today() == dt.date(2022, 3, 15)
    assert not clock.is_pinned()


@time_machine.travel(dt.datetime(2022, 3, 15, 20, 0, tzinfo=dt.UTC), tick=False)
def test_today_is_shanghai_date():
    # 20:00 UTC is 04:00 the next day in Shanghai.
    assert clock.today() == dt.date(2022, 3, 16)


@override_settings(AS_OF=dt.date(2022, 9, 30))
def test_process_pin():
    assert clock.today() == dt.date(2022, 9, 30)
    assert clock.now().date() == dt.date(2022, 9, 30)
    assert clock.is_pinned()
    # Security timers never travel.
    assert clock.wall_now().date() != dt.date(2022, 9, 30)


def test_request_pin_overrides_and_restores():
    with clock.as_of(dt.date(2021, 1, 1)):
        assert clock.today() == dt.date(2021, 1, 1)
    assert not clock.is_pinned()


def test_as_of_parameter_is_for_planners_and_leaders(client, planner, leader, owner, outsider):
    for user in (planner, leader):
        client.force_login(user)
        response = client.get("/?as_of=2022-09-30")
        assert response.status_code == 200
        assert response.context["today"] == dt.date(2022, 9, 30)
        # The pin stays for the session until cleared.
        assert client.get("/").context["today"] == dt.date(2022, 9, 30)
        assert client.get("/?as_of=").context["today"] != dt.date(2022, 9, 30)
    for user in (owner, outsider):
        client.force_login(user)
        assert client.get("/?as_of=2022-09-30").status_code == 403


def test_bad_as_of_is_a_clear_400(client, planner):
    client.force_login(planner)
    response = client.get("/?as_of=2022-02-30")
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()
    assert client.get("/?as_of=1066-10-14").status_code == 400

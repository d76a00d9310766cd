from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from duban.accounts.models import LoginFailure, Role
from tests.conftest import PASSWORD


def _login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_and_logout(client, owner):
    response = _login(client, "owner", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_wrong_password_is_refused(client, owner):
    response = _login(client, "owner", "nope")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert LoginFailure.objects.filter(username="owner").count() == 1


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_FAILURE_WINDOW=600)
def test_repeated_failures_are_throttled_even_with_the_right_password(client, owner):
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            _login(client, "owner", "wrong")
        response = _login(client, "owner", PASSWORD)
        assert response.status_code == 429
        assert (
            "Too many failed logins" in response.content.decode()
            or "登录失败" in response.content.decode()
        )
    # The window passes; the right password works again and clears the count.
    with time_machine.travel(start + dt.timedelta(seconds=601), tick=False):
        assert _login(client, "owner", PASSWORD).status_code == 302
        assert not LoginFailure.objects.filter(username="owner").exists()


def test_roles_define_what_a_user_sees(owner, outsider, planner, leader, admin_user, dept):
    assert owner.can_report_for(dept.pk)
    assert not outsider.can_report_for(dept.pk)
    assert not planner.can_report_for(dept.pk)  # planners approve; they do not file
    assert owner.can_view_department(dept.pk)
    assert not outsider.can_view_department(dept.pk)
    for user in (planner, leader, admin_user):
        assert user.can_view_department(dept.pk)
    assert planner.is_planner and admin_user.is_planner and not leader.is_planner


@pytest.mark.parametrize("path", ["/", "/plans/", "/plans/import/", "/audit/"])
def test_anonymous_users_are_sent_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_admin_site_only_for_staff(client, owner, admin_user):
    client.force_login(owner)
    assert client.get("/admin/").status_code == 302
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


def test_role_choices_are_the_five_roles():
    assert {r.value for r in Role} == {"planner", "reporter", "leader", "admin", "operator"}


def test_hotline_operators_are_centre_staff_for_cases_only(owner, planner, leader, dept):
    from tests.conftest import make_user

    operator = make_user("operator", Role.OPERATOR, None)
    seated = make_user("seated", Role.OPERATOR, dept)  # even one given a department
    for user in (operator, seated):
        assert user.is_operator and user.is_centre_staff
        assert not user.is_planner and not user.sees_everything and not user.is_leader
        assert not user.can_view_department(dept.pk)
        assert not user.can_report_for(dept.pk)
    assert planner.is_centre_staff and not planner.is_operator
    assert not leader.is_centre_staff and not owner.is_centre_staff

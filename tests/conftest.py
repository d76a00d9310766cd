"""Named users for permission tests, in the healthchecks manner: an owner (a reporter of
the department that owns the item), a colleague (another reporter of the same
department), an outsider (a reporter of another department, who must be refused), and
the office roles."""

from __future__ import annotations

import pytest

PASSWORD = "correct horse battery staple"

# Models are imported inside the fixtures, so that the Django-free tests (tests/extract)
# also run with `pytest -p no:django`.


def make_user(username: str, role: str, department):
    from duban.accounts.models import User

    user = User(
        username=username,
        role=role,
        department=department,
        first_name=username,
        email=f"{username}@example.gov.cn",
    )
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def office(db):
    from duban.accounts.models import Department

    return Department.objects.create(name="督查室", code="duchashi", is_supervision_office=True)


@pytest.fixture
def dept(db):
    from duban.accounts.models import Department

    return Department.objects.create(name="城市管理局", code="chengguan")


@pytest.fixture
def other_dept(db):
    from duban.accounts.models import Department

    return Department.objects.create(name="教育文化体育局", code="jiaowen")


@pytest.fixture
def owner(dept):
    return make_user("owner", "reporter", dept)


@pytest.fixture
def colleague(dept):
    return make_user("colleague", "reporter", dept)


@pytest.fixture
def outsider(other_dept):
    return make_user("outsider", "reporter", other_dept)


@pytest.fixture
def planner(office):
    return make_user("planner", "planner", office)


@pytest.fixture
def leader(office):
    return make_user("leader", "leader", office)


@pytest.fixture
def admin_user(office):
    user = make_user("root", "admin", office)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login

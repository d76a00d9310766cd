"""The cases demo builder: deterministic, idempotent, usable at once (Open311 key)."""

from __future__ import annotations

import datetime as dt

import pytest

from duban.cases.demo import OPEN311_KEY, build_cases_demo
from duban.cases.models import Case, CaseEvent, Category, Status
from duban.cases.services import case_create
from duban.demo import demo_departments

pytestmark = pytest.mark.django_db


def test_demo_builds_once_and_is_usable(client, settings):
    departments = demo_departments()
    summary = build_cases_demo(departments=departments, total=400)
    assert "400 new" in summary and OPEN311_KEY in summary
    assert Category.objects.count() >= 10
    assert Case.objects.count() == 400
    assert CaseEvent.objects.filter(kind="received").count() == 400
    tickets = list(Case.objects.order_by("id").values_list("received_at", "status")[:5])
    again = build_cases_demo(departments=departments, total=400)
    assert "0 new" in again and Case.objects.count() == 400
    # deterministic: same seed, same cases
    assert list(Case.objects.order_by("id").values_list("received_at", "status")[:5]) == tickets
    assert Case.objects.filter(status=Status.CLOSED).exists()
    # A new case after the bulk load gets a fresh id (sequences were reset).
    category = Category.objects.get(code="city")
    case = case_create(category=category, channel="web", description="x", address="y").case
    assert case.pk > max(Case.objects.exclude(pk=case.pk).values_list("id", flat=True))
    # The Open311 demo key works.
    settings.AS_OF = dt.date(2022, 9, 30)
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": OPEN311_KEY,
            "service_code": "noise",
            "address_string": "金水东路1号",
            "description": "夜间施工",
            "attribute[when]": "night",
        },
    )
    assert response.status_code == 201, response.content
    listed = client.get("/open311/v2/requests.json").json()
    assert 0 < len(listed) <= 1000

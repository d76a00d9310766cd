"""The desk and the queues at any number of cases: a fixed number of queries, keyset pages
that return every case exactly once, and the same answers as plain ORM filters."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from bench.cases_scale import build_cases
from duban.accounts.models import Department
from duban.cases import conf, selectors
from duban.cases.lights import overdue_q, yellow_q
from duban.cases.models import DONE_STATUSES, OPEN_STATUSES, Case, Status
from duban.cases.selectors import _metres

from ..conftest import make_user

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2022, 9, 30)


@pytest.fixture
def as_of(settings):
    settings.AS_OF = AS_OF


@pytest.fixture
def people(as_of):
    build_cases(0)  # the demo's departments and catalogue
    return {
        "planner": make_user("centre", "planner", Department.objects.get(code="duchashi")),
        "reporter": make_user("builder", "reporter", Department.objects.get(code="jianshe")),
    }


def pages(client, people) -> dict[str, int]:
    """Queries of each page, following the "Older" link once."""
    counts = {}
    urls = [("planner", "/cases/desk/")]
    for scope in selectors.QUEUE_SCOPES:
        urls.append(("reporter", f"/cases/queue/?scope={scope}"))
        urls.append(("planner", f"/cases/queue/?scope={scope}"))
    for who, url in urls:
        client.force_login(people[who])
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url, who] = len(ctx.captured_queries)
        older = re.search(r'rel="next" href="\?([^"]+)"', response.content.decode())
        if older:
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(
                    url.split("?")[0] + "?" + older.group(1).replace("&amp;", "&")
                )
            assert response.status_code == 200
            counts[url + " older", who] = len(ctx.captured_queries)
    return counts


def test_desk_and_queues_run_a_fixed_number_of_queries(client, people):
    build_cases(1500, seed=3)  # enough for a case in every list
    small = pages(client, people)
    build_cases(3000, seed=4)
    large = pages(client, people)
    for key, n in small.items():
        assert large[key] == n, (key, n, large[key])
    assert small["/cases/desk/", "planner"] <= 12
    assert all(n <= 8 for key, n in small.items() if "queue" in key[0])


def walk(**kwargs) -> list[int]:
    seen, before = [], None
    while True:
        page = selectors.queue(before=before, **kwargs)
        seen.extend(c.pk for c in page.rows)
        assert len(page.rows) <= selectors.PAGE
        if page.next_before is None:
            return seen
        assert page.next_before == page.rows[-1].pk
        before = page.next_before


def test_keyset_pages_return_every_case_exactly_once(people):
    build_cases(1200, seed=5)
    plain = {
        "open": Case.objects.filter(status__in=OPEN_STATUSES),
        "overdue": Case.objects.filter(overdue_q()),
        "yellow": Case.objects.filter(yellow_q()),
        "done": Case.objects.filter(status__in=DONE_STATUSES),
        "all": Case.objects.all(),
    }
    departments = [None, *Department.objects.filter(code__in=["jianshe", "chengguan"])]
    for scope, cases in plain.items():
        for department in departments:
            expected = cases if department is None else cases.filter(department=department)
            expected = list(expected.order_by("-id").values_list("id", flat=True))
            seen = walk(department_id=department and department.pk, scope=scope)
            assert seen == expected, (scope, department)
    assert len(walk(department_id=None, scope="all")) == 1200


def test_desk_lists_agree_with_plain_filters(people):
    build_cases(2000, seed=6)
    new = Case.objects.filter(status__in=[Status.RECEIVED, Status.REGISTERED]).order_by("-id")
    assert [c.pk for c in selectors.desk_new().rows] == [c.pk for c in new[:50]]
    waiting = (
        Case.objects.filter(status__in=[Status.DISPATCHED, Status.ACCEPTED, Status.RESPONDED])
        .exclude(pending="")
        .order_by("id")
    )
    assert waiting.exists()
    assert [c.pk for c in selectors.desk_pending()] == [c.pk for c in waiting[:50]]
    plain = {
        row["department_id"]: row["n"]
        for row in Case.objects.filter(overdue_q())
        .values("department_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    counted = selectors.overdue_by_department()
    assert {row["department__id"]: row["n"] for row in counted} == plain
    assert [row["n"] for row in counted] == sorted(plain.values(), reverse=True)


def brute_duplicates(case, everything, limit):
    since = case.received_at - dt.timedelta(days=conf.DUPLICATE_DAYS)
    found = []
    for other in everything:  # newest first
        if other.pk >= case.pk or other.category_id != case.category_id:
            continue
        if other.status == Status.VOID or not since <= other.received_at <= case.received_at:
            continue
        if other.address and other.address == case.address:
            found.append(other)
        elif _metres(case, other) <= conf.DUPLICATE_RADIUS_M:
            found.append(other)
    return found[:limit]


def test_duplicates_of_a_desk_page_are_those_the_definition_gives(people):
    build_cases(1500, seed=8)
    # Bring the newest cases together: a few addresses, points 0 to 330 m apart.
    recent = Case.objects.order_by("-id").values_list("id", flat=True)[:300]
    for k, pk in enumerate(recent):
        Case.objects.filter(pk=pk).update(
            address=f"测试路{k % 7}号" if k % 3 else "",
            lat=Decimal("34.75") + Decimal(k % 11) * Decimal("0.0003"),
            long=Decimal("113.75"),
        )
    everything = list(Case.objects.order_by("-id"))
    rows = everything[:60]
    with CaptureQueriesContext(connection) as ctx:
        many = selectors.duplicates_of(rows, limit=5)
    assert len(ctx.captured_queries) == 1
    assert sum(map(len, many.values())) > 5
    for case in rows:
        assert many[case.pk] == brute_duplicates(case, everything, 5), case.pk

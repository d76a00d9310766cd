"""A department's queue of every status reads its page in id order from an index. The
department has no index of its own (cases_dept_status_id begins with it, and every index
is one more write per intake), so the queue reads one list per status. Found in review:
with the department index dropped, the single query sorted all the department's cases
(48 ms at 20,000 cases against 0.6 ms)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.cases import selectors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans"),
]


def _plans(run) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        run()
    plans = []
    for query in queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            plans.append(" | ".join(str(row[-1]) for row in cursor.fetchall()))
    return plans


@pytest.mark.parametrize("scope", selectors.QUEUE_SCOPES)
@pytest.mark.parametrize("before", [None, 10**6])
def test_a_departments_queue_reads_each_list_from_an_index(make_case, dept, scope, before):
    make_case()
    ids_query = _plans(lambda: selectors.queue(department_id=dept.pk, scope=scope, before=before))[
        0
    ]
    steps = ids_query.split(" | ")
    searches = [step for step in steps if "cases_case" in step]
    # Each list is a range of (department, status, id), read newest first, 51 at most;
    # only those few rows are sorted (the SCAN of each part), never the department's cases.
    assert searches and all(
        "cases_dept_status_id (department_id=? AND status=?" in step for step in searches
    ), ids_query

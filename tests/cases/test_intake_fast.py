"""The intake's queries: what they write and how the database answers them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.accounts.tokens import api_client_create
from duban.cases import services

pytestmark = pytest.mark.django_db
KEY = "fast-key-0123456789abcdef"


def test_external_id_check_probes_the_unique_index(category, planner):
    """The retry check is one probe of the partial unique index, not a scan of every case
    the client filed (which grew with the table)."""
    if connection.vendor != "sqlite":
        pytest.skip("the query plan is SQLite's")
    client = api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)[0]
    with CaptureQueriesContext(connection) as queries:
        assert services._earlier_submission(client, "DR-1") is None
    (query,) = [q["sql"] for q in queries.captured_queries if "external_id" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + query)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "cases_external_id_unique" in plan, plan

"""The duplicate check reads the latitude bands of each box (models.lat_band, index
cases_cat_band_received): it must find what the definition finds where boxes cross band
edges, and on SQLite the query's expression must be the index's (otherwise the check
silently reads the service's whole window again)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from django.db import connection

from duban.cases import selectors
from duban.cases.models import Case, lat_band

from .test_desk_queries import brute_duplicates

pytestmark = pytest.mark.django_db


@pytest.fixture
def scattered(friday, make_case):
    """Cases a few metres to a few hundred metres apart around band edges (34.7495 to
    34.7515: the edges 34.7495, 34.7505 and 34.7515 of the bands 34750 and 34751), some
    at the same address, one service, one week."""
    rng = random.Random(7)
    cases = []
    for k in range(90):
        lat = Decimal("34.7495") + Decimal(rng.randint(0, 2000)) / Decimal(1_000_000)
        if k % 9 == 0:
            lat = Decimal("34.7505")  # on an edge exactly
        long = Decimal("113.75") + Decimal(rng.randint(0, 3000)) / Decimal(1_000_000)
        cases.append(
            make_case(
                lat=lat,
                long=long,
                address=f"边界路{k % 5}号" if k % 4 == 0 else "",
                description=f"第{k}件",
            ).case
        )
    return cases


def test_bands_find_what_the_definition_finds(scattered):
    everything = list(Case.objects.order_by("-id"))
    rows = everything[:50]
    found = selectors.duplicates_of(rows, limit=5)
    assert sum(map(len, found.values())) > 20
    for case in rows:
        assert found[case.pk] == brute_duplicates(case, everything, 5), case.pk
    one = rows[0]
    assert selectors.possible_duplicates(one) == brute_duplicates(one, everything, 5)


def test_a_case_without_coordinates_is_checked_by_address_only(friday, make_case):
    first = make_case(address="无坐标路1号").case
    second = make_case(address="无坐标路1号").case
    elsewhere = make_case(address="无坐标路2号").case
    found = selectors.duplicates_of([second, elsewhere], limit=5)
    assert found[second.pk] == [first] and found[elsewhere.pk] == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's expression matching")
def test_sqlite_recognises_the_band_expression_of_its_index(scattered):
    """The index's second column is an expression; SQLite seeks on it only if the query
    writes it the same way (a bound parameter or another cast and it reads the whole
    service's window). With the index forced, the plan shows the seek on <expr>."""
    first = scattered[0]
    query = (
        Case.objects.alias(band=lat_band())
        .filter(category_id=first.category_id, band__in=[34750, 34751])
        .filter(received_at__lte=first.received_at)
        .values_list("id", flat=True)
        .query
    )
    sql, params = query.sql_with_params()
    sql = sql.replace('FROM "cases_case"', 'FROM "cases_case" INDEXED BY cases_cat_band_received')
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute(sql, params)
        ids = {row[0] for row in cursor.fetchall()}
    assert "<expr>=?" in plan, plan
    near = {c.pk for c in scattered if Decimal("34.7495") <= c.lat < Decimal("34.7515")}
    assert ids == near

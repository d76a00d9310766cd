"""core.sql on PostgreSQL: statements prepared on the server once per connection and sent
as EXECUTE with their values written in the text, and the transaction (BEGIN to COMMIT) in
one string."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import DataError, ProgrammingError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from duban.accounts.tokens import api_client_create
from duban.cases import services
from duban.cases.models import Case, OverdueMonth
from duban.core import sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), timezones=st.just(SHANGHAI)),
    # as Django's JSONField gives its value (with its encoder's dumps)
    st.dictionaries(TEXT, TEXT, max_size=3).map(lambda value: Jsonb(value, dumps=json.dumps)),
)


def _prepared(like: str) -> list[tuple[str, int]]:
    """The statements prepared on this connection whose text matches, with how many times
    each ran."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s ORDER BY name",
            [like],
        )
        return cursor.fetchall()


@settings(max_examples=80, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=4))
def test_a_prepared_statement_means_what_psycopgs_binding_means(values):
    """Whatever the values — quotes, backslashes, %s, non-ASCII, big numbers, times with
    and without a zone, JSON — the server reads the literals written here as psycopg's
    binding sends them: the same types (declared in the PREPARE), the same results."""
    # Each value, and the type the server took it as (not for a str or None, sent as
    # unknown either way, whose type only the statement around it can decide).
    typed = [v is not None and not isinstance(v, str) for v in values]
    statement = "SELECT " + ", ".join("%s, pg_typeof(%s)::text" if t else "%s" for t in typed)
    values = [w for v, t in zip(values, typed, strict=True) for w in ([v, v] if t else [v])]

    def outcome(prepare: bool):
        django_settings.DB_PREPARE = prepare
        try:
            cursor = sql.run(statement, values)
            assert (type(cursor) is psycopg.Cursor) is not prepare  # the path asked
            return cursor.fetchall()
        finally:
            django_settings.DB_PREPARE = True

    assert outcome(True) == outcome(False)


def test_a_statement_is_prepared_once_per_connection_and_types():
    for n in (1, 2, 3):
        assert sql.run("SELECT %s::int + 100", [n]).fetchall() == [(n + 100,)]
    assert sql.run("SELECT %s::int + 100", [None]).fetchall() == [(None,)]
    prepared = _prepared("%SELECT $1::int + 100")
    assert sorted(runs for _name, runs in prepared) == [1, 3]  # int2, then unknown (NULL)


def test_nul_is_refused_before_anything_is_sent():
    with pytest.raises(DataError):  # Django's class, as psycopg's binding raises
        sql.run("SELECT %s", ["a\x00b"])
    assert sql.run("SELECT %s", ["a\\0b"]).fetchall() == [("a\\0b",)]


def test_statements_the_server_lost_are_prepared_again():
    """A DEALLOCATE ALL (other code, a pooler's reset) fails the next statement once."""
    assert sql.run("SELECT %s::int * 2", [21]).fetchall() == [(42,)]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(ProgrammingError, match="does not exist"):
        with transaction.atomic():
            sql.run("SELECT %s::int * 2", [21])
    assert sql.run("SELECT %s::int * 2", [21]).fetchall() == [(42,)]


def test_past_the_most_prepared_statements_the_rest_go_as_they_are(monkeypatch):
    monkeypatch.setattr(sql, "_MOST_PREPARED", 0)
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "_duban_prepared", None, raising=False)
    assert sql.run("SELECT %s::int - 1, %s", [10, "it's"]).fetchall() == [(9, "it's")]
    assert _prepared("%SELECT $1::int - 1%") == []


def test_values_of_other_types_go_as_psycopg_writes_them():
    # A list has no declared type here: the statement is sent with psycopg's literal.
    assert sql.run("SELECT %s::int[]", [[1, 2]]).fetchall() == [([1, 2],)]
    assert _prepared("%SELECT $1::int[]%") == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_transaction_in_one_string_leaves_the_connection_as_it_was(
    friday, make_case, planner
):
    """A retried submission fails on the unique external id inside the string that holds
    its whole transaction: it is rolled back, the first case is returned, and the
    connection works on, in Django's autocommit state."""
    services.calendar_load(actor=planner)  # transactional tests start with empty tables
    client = api_client_create(name="巡查", scope="cases", actor=None, raw_key="retry-key-123")[0]

    def submit(external_id: str):
        return make_case(channel="inspection", api_client=client, external_id=external_id)

    first = submit("R-1")
    again = submit("R-1")
    assert (again.created, again.case.pk) == (False, first.case.pk)
    driver = connection.connection
    assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert driver.autocommit is connection.get_autocommit() is True
    third = submit("R-2")
    assert third.created
    assert Case.objects.count() == 2
    with transaction.atomic():  # Django's transactions still begin on the server
        Case.objects.filter(pk=third.case.pk).update(description="改")
        assert driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert Case.objects.get(pk=third.case.pk).description == "改"


def test_values_are_read_the_same_whatever_standard_conforming_strings_says():
    """Any statement can turn the setting off: the literals are escape strings, so a
    backslash before a quote cannot end one."""
    payload = "\\'); DELETE FROM cases_overduemonth; --"
    sql.add_to_row(
        OverdueMonth,
        key={"month": dt.date(2022, 9, 1), "department_key": 0, "street": "x"},
        delta={"n": 1},
    )
    with connection.cursor() as cursor:
        cursor.execute("SET standard_conforming_strings = off")
    try:
        assert sql.run("SELECT %s", [payload]).fetchall() == [(payload,)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET standard_conforming_strings = on")
    assert sql.run("SELECT %s", [payload]).fetchall() == [(payload,)]
    assert OverdueMonth.objects.count() == 1  # nothing ran but the SELECT


def test_an_int_is_declared_as_the_smallest_type_it_fits_as_psycopg_binds_it():
    # date + bigint has no operator; date + smallint (as psycopg binds 1) has.
    assert sql.run("SELECT current_date + %s - current_date", [1]).fetchall() == [(1,)]
    assert sql.run("SELECT repeat('ab', %s)", [2]).fetchall() == [("abab",)]
    assert sql.run("SELECT pg_typeof(%s)::text", [2**40]).fetchall() == [("bigint",)]


@pytest.mark.django_db(transaction=True)
def test_a_statement_prepared_by_another_hand_under_its_name_is_used():
    """Names are hashes of the statement and its types: a statement found already prepared
    under its name (this session forgot it had) is the same statement."""
    assert sql.run("SELECT %s::int * 3", [5]).fetchall() == [(15,)]
    connection.connection._duban_prepared = None  # forgotten here, still on the server
    assert sql.run("SELECT %s::int * 3", [7]).fetchall() == [(21,)]
    assert len(_prepared("%SELECT $1::int * 3")) == 1


def test_nothing_is_prepared_when_connections_last_one_request(monkeypatch):
    """With DUBAN_CONN_MAX_AGE=0 every statement would be prepared again on every request,
    one round trip each: they go as they are."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    assert sql.run("SELECT %s::int + 7, %s", [1, "x"]).fetchall() == [(8, "x")]
    assert _prepared("%SELECT $1::int + 7%") == []


@pytest.mark.django_db(transaction=True)
def test_what_is_prepared_is_kept_with_the_drivers_connection():
    """The list lives on psycopg's connection, as the server's session does: a pool that
    lends the connection to another request lends the list with it; a new connection
    starts with none."""
    assert sql.run("SELECT %s::int + 40", [2]).fetchall() == [(42,)]
    driver = connection.connection
    assert any("+ 40" in statement for statement, _types in driver._duban_prepared)
    connection.close()
    assert sql.run("SELECT %s::int + 40", [3]).fetchall() == [(43,)]
    assert connection.connection is not driver
    assert len(_prepared("%SELECT $1::int + 40")) == 1  # prepared again, on the new session

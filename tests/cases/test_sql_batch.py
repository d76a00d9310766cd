"""core.sql: counters added to by one upsert, and statements batched into one round trip on
PostgreSQL without changing what the database sees or in which order."""

from __future__ import annotations

import datetime as dt
import re

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from duban.audit.models import GENESIS, AuditEntry, AuditHead
from duban.audit.services import audit_record, audit_verify
from duban.cases import services
from duban.cases.models import Case, CaseDayStat, CaseEvent, OverdueMonth
from duban.core import sql

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="batches exist on PostgreSQL only"
)
MONTH = dt.date(2022, 9, 1)


def _bucket(street: str, n: int) -> None:
    sql.add_to_row(
        OverdueMonth,
        key={"month": MONTH, "department_key": 0, "street": street},
        delta={"n": n},
    )


def test_add_to_row_makes_the_row_then_adds_to_it():
    _bucket("金水东路", 1)
    _bucket("金水东路", 2)
    _bucket("商务外环路", -1)  # a count moved out of a bucket nobody made yet
    rows = dict(OverdueMonth.objects.values_list("street", "n"))
    assert rows == {"金水东路": 3, "商务外环路": -1}


def test_add_to_row_stores_key_values_as_their_fields_do():
    """A key value goes through its field's conversions (as insert_row's values do): a
    datetime given for the DateField month is its date, the same row as the date's."""
    _bucket("金水东路", 1)
    sql.add_to_row(
        OverdueMonth,
        key={"month": dt.datetime(2022, 9, 1, 10, 30), "department_key": 0, "street": "金水东路"},
        delta={"n": 2},
    )
    assert list(OverdueMonth.objects.values_list("month", "n")) == [(MONTH, 3)]


def _undispatched(category, day: dt.date) -> None:
    """One more received case in the roll-up row without a department (a partial index)."""
    sql.add_to_row(
        CaseDayStat,
        key={"day": day, "category_id": category.pk, "department_id": None, "channel": "web"},
        delta={"received": 1},
        unique=("day", "category_id", "channel"),
        where='"department_id" IS NULL',
    )


def test_add_to_row_fills_the_other_columns_with_their_defaults(category):
    _undispatched(category, MONTH)
    row = CaseDayStat.objects.get()
    assert (row.received, row.void, row.resolved, row.department_id) == (1, 0, 0, None)


def test_outside_postgresql_a_batch_runs_every_statement_at_once():
    if connection.vendor == "postgresql":
        pytest.skip("this is the other databases' behaviour")
    with transaction.atomic(), sql.batch():
        _bucket("金水东路", 1)
        assert OverdueMonth.objects.get().n == 1  # no flush needed: it was run
        with CaptureQueriesContext(connection) as queries:
            _bucket("金水东路", 1)
        assert len(queries) == 1


@on_postgresql
def test_waiting_statements_go_with_the_next_query_in_one_round_trip():
    with transaction.atomic(), sql.batch():
        with CaptureQueriesContext(connection) as queries:
            _bucket("金水东路", 1)
            _bucket("商务外环路", 1)
            assert len(queries) == 0
            rows = sql.query("SELECT count(*) FROM cases_overduemonth", [])
        assert rows == [(2,)]
        assert len(queries) == 1
        with CaptureQueriesContext(connection) as queries:
            _bucket("金水东路", 1)
        assert len(queries) == 0
    # sent at the end of the block, before the commit
    assert dict(OverdueMonth.objects.values_list("street", "n")) == {"金水东路": 2, "商务外环路": 1}


@on_postgresql
def test_any_other_statement_sends_the_waiting_ones_first(make_case):
    case = make_case().case
    with transaction.atomic(), sql.batch():
        event = CaseEvent(case=case, kind="note", at=case.received_at, to_status=case.status)
        assert sql.insert_row(event, defer=True)
        assert event.pk is None  # waiting
        # The ORM's query sees the row: the waiting INSERT went first, and set its key.
        assert CaseEvent.objects.filter(case=case, kind="note").count() == 1
        assert event.pk is not None
        assert CaseEvent.objects.get(pk=event.pk).kind == "note"


@on_postgresql
def test_an_error_in_a_waiting_statement_is_raised_and_nothing_is_kept():
    with pytest.raises(IntegrityError):
        with transaction.atomic(), sql.batch():
            _bucket("金水东路", 1)
            sql.execute(  # no month: refused at once (NOT NULL is not deferred)
                "INSERT INTO cases_overduemonth (month, department_key, street, n) "
                "VALUES (NULL, 0, %s, 1)",
                ["商务外环路"],
            )
            assert OverdueMonth.objects.count() == 0  # never reached: sending raised
    assert OverdueMonth.objects.count() == 0
    assert sql._queue() is None
    _bucket("金水东路", 1)  # the connection works on
    assert OverdueMonth.objects.get().n == 1


@on_postgresql
def test_audit_appends_in_a_batch_keep_the_chain():
    with transaction.atomic(), sql.batch():
        first = audit_record(actor="x", action="t.one", entity="t", entity_id=1, after={"a": 1})
        second = audit_record(actor="x", action="t.two", entity="t", entity_id=2)
    assert first.pk and second.pk and second.seq == first.seq + 1
    assert AuditEntry.objects.get(pk=second.pk).prev_hash == first.hash
    assert audit_verify().ok


def _prepared_statements() -> dict[str, str]:
    """This session's prepared statements: name -> the statement (PREPARE ... AS text)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _statements_sent(text: str) -> list[str]:
    """The statements of a string sent to the server, each EXECUTE as what it runs."""
    prepared = _prepared_statements()
    executed = re.findall(r"(?:^|;\n)(?:EXECUTE (duban_\w+)|([A-Z]+))", text)
    return [prepared[name].split(" AS ", 1)[1] if name else word for name, word in executed]


@on_postgresql
def test_an_intake_writes_in_one_round_trip(friday, make_case):
    make_case()
    with CaptureQueriesContext(connection) as queries:
        case = make_case().case
    # The case's key is taken before its transaction (inside the test's, a savepoint; the
    # category's attributes are read before it), from the keys taken ahead.
    start = next(i for i, q in enumerate(queries) if q["sql"].startswith("SAVEPOINT"))
    inside = [q["sql"] for q in queries[start + 1 : -1]]
    assert queries[-1]["sql"].startswith("RELEASE SAVEPOINT")
    # the case's INSERT, its event, overdue bucket, roll-up and the audit append (the head
    # made if missing, locked, the entry linked by the database, the head moved), each
    # prepared on the server
    assert len(inside) == 1, inside
    assert inside[0].count("EXECUTE") == 8 and "INSERT" not in inside[0]
    sent = _statements_sent(inside[0])
    assert sent[0].startswith('INSERT INTO "cases_case" ("id", ')
    assert "EXECUTE duban_" in inside[0] and f"'{case.pk}'" in inside[0].split(";")[0]
    event = next(i for i, text in enumerate(sent) if "cases_caseevent" in text)
    assert "FOR UPDATE" in sent[5] and event < 5


@on_postgresql
@settings(max_examples=40, deadline=None)
@given(
    text=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40),
    number=st.integers(min_value=-(2**70), max_value=2**70),
)
def test_the_database_links_entries_as_compute_hash_would(text, number):
    """The hash PostgreSQL computes in the batch (sha256 over the payload it completes) is
    compute_hash's, whatever the content: non-ASCII, quotes, backslashes, %s, big numbers."""
    with transaction.atomic(), sql.batch():
        entry = audit_record(
            actor=text or "x",
            action=text[:40],
            entity=text[:80] or "t",
            entity_id=text[:64],
            after={"text": text, "n": number, "nested": [text, {"k": None}]},
        )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.hash == entry.hash == stored.content_hash()
    assert AuditHead.objects.get().hash == entry.hash


@on_postgresql
def test_the_first_entry_of_an_empty_chain_in_a_batch_makes_the_head():
    AuditHead.objects.all().delete()
    with transaction.atomic(), sql.batch():
        entry = audit_record(actor="x", action="t.one", entity="t", entity_id=1)
    assert (entry.seq, entry.prev_hash) == (1, GENESIS)
    assert AuditHead.objects.get().hash == entry.hash == entry.content_hash()
    assert audit_verify().ok


def test_run_uses_the_drivers_cursor_with_djangos_checks_and_errors(category):
    """On SQLite, with nobody logging queries, run() skips Django's cursor but keeps what
    it does: placeholders, error classes, the refusal of a broken transaction."""
    assert not connection.queries_logged
    rows = sql.run("SELECT %s || '%%', %s", ["50", 7]).fetchall()
    assert rows == [("50%", 7)]
    _bucket("金水东路", 1)
    duplicate = (
        "INSERT INTO cases_overduemonth (month, department_key, street, n) VALUES (%s, 0, %s, 1)"
    )
    with pytest.raises(IntegrityError):  # Django's class, not the driver's
        with transaction.atomic():
            sql.run(duplicate, [MONTH, "金水东路"])
    with transaction.atomic():
        transaction.set_rollback(True)  # as after an error the ORM caught
        with pytest.raises(transaction.TransactionManagementError):
            sql.run("SELECT 1", [])
    assert OverdueMonth.objects.get().n == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_outermost_batched_transaction_commits_with_its_last_statements(monkeypatch):
    connection.ensure_connection()
    driver = connection.connection
    at_commit = []
    real_commit = driver.commit

    def commit():
        at_commit.append(driver.info.transaction_status)
        real_commit()

    monkeypatch.setattr(driver, "commit", commit)
    with CaptureQueriesContext(connection) as queries:
        with sql.atomic():
            _bucket("金水东路", 1)
            _bucket("商务外环路", 1)
        assert not connection.in_atomic_block
    sent = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]  # Django's log
    assert len(sent) == 1 and sent[0].endswith(";\nCOMMIT")
    # Django's commit found the transaction ended: psycopg sends nothing for it.
    assert at_commit == [psycopg.pq.TransactionStatus.IDLE]
    with psycopg.connect(**_plain_params()) as other:  # committed: seen from outside
        assert other.execute("SELECT count(*) FROM cases_overduemonth").fetchone() == (2,)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_batched_transaction_inside_another_or_marked_for_rollback_commits_nothing():
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            with sql.atomic():  # a savepoint: its end is not the transaction's
                _bucket("金水东路", 1)
            raise RuntimeError
    with sql.atomic():
        _bucket("商务外环路", 1)
        transaction.set_rollback(True)
    assert OverdueMonth.objects.count() == 0


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_intake_outside_a_transaction_commits_in_its_last_round_trip(friday, make_case, planner):
    from duban.cases import services

    services.calendar_load(actor=planner)  # transactional tests start with empty tables
    make_case()
    with CaptureQueriesContext(connection) as queries:
        case = make_case().case
    # The key is taken first (sql.reserve_key); then the whole transaction goes in one
    # string (the BEGIN Django logs is not sent: psycopg begins a transaction with its first
    # statement).
    sent = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert "nextval" not in sent[-1]
    assert sent[-1].startswith("BEGIN;\nEXECUTE duban_") and sent[-1].endswith(";\nCOMMIT")
    assert "audit_auditentry" in " ".join(_statements_sent(sent[-1]))
    assert connection.connection.autocommit is connection.get_autocommit()  # as Django left it
    with psycopg.connect(**_plain_params()) as other:
        found = other.execute("SELECT count(*) FROM cases_case WHERE id = %s", [case.pk])
        assert found.fetchone() == (1,)


def _plain_params() -> dict:
    params = connection.get_connection_params()
    return {k: v for k, v in params.items() if k not in {"cursor_factory", "context"}}


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_is_refused():
    """Its statements could wait past a COMMIT or ROLLBACK, which no cursor sends."""
    with pytest.raises(transaction.TransactionManagementError):
        with sql.batch():
            _bucket("金水东路", 1)
    assert not OverdueMonth.objects.exists()


def test_a_batch_in_a_transaction_marked_for_rollback_ends_quietly():
    with transaction.atomic():
        with transaction.atomic(), sql.batch():
            _bucket("金水东路", 1)
            transaction.set_rollback(True)
    assert not OverdueMonth.objects.exists()


def test_add_to_row_computes_a_callable_default_on_every_call(category, monkeypatch):
    field = CaseDayStat._meta.get_field("void")
    values = iter([7, 8])
    monkeypatch.setattr(field, "default", lambda: next(values))
    monkeypatch.delitem(field.__dict__, "_get_default", raising=False)  # Django caches it
    monkeypatch.setattr(sql, "_upserts", {})
    for day in (MONTH, MONTH.replace(day=2)):
        _undispatched(category, day)
    assert sorted(CaseDayStat.objects.values_list("void", flat=True)) == [7, 8]


@on_postgresql
def test_run_binds_parameters_on_the_server(settings):
    """With DB_PREPARE off, run() sends the parameters apart from the statement, where
    Django's cursor makes each a literal in Python; results, placeholders and error
    classes are Django's."""
    settings.DB_PREPARE = False
    assert not connection.queries_logged
    cursor = sql.run("SELECT %s::int + 1, %s::text || '%%'", [1, "50"])
    assert type(cursor) is psycopg.Cursor
    assert cursor.fetchall() == [(2, "50%")]
    with pytest.raises(IntegrityError):  # Django's error class
        with transaction.atomic():
            _bucket("金水东路", 1)
            sql.run(
                "INSERT INTO cases_overduemonth (month, department_key, street, n) "
                "VALUES (%s, 0, %s, 1)",
                [MONTH, "金水东路"],
            )


def _case_inserts_run_prepared() -> int:
    """How many times this session ran a prepared INSERT of a case (PostgreSQL counts the
    plans it used for each prepared statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements "
            "WHERE statement LIKE '%% AS INSERT INTO \"cases_case\"%%'"
        )
        return cursor.fetchone()[0]


@on_postgresql
def test_plain_statements_are_prepared(category, friday, settings):
    """settings.DB_PREPARE (DUBAN_DB_PREPARE): the case's INSERT runs as a statement the
    server parsed and planned once; off, it is not prepared (for poolers in transaction
    mode)."""

    def intake(n: int) -> None:
        services.case_create(
            category=category,
            channel="web",
            description=f"甲{n}",
            address="金水东路1号",
            attributes={"when": "night"},
        )

    settings.DB_PREPARE = False
    before = _case_inserts_run_prepared()
    intake(0)
    assert _case_inserts_run_prepared() == before
    settings.DB_PREPARE = True
    for n in range(1, 4):
        intake(n)
    assert _case_inserts_run_prepared() == before + 3
    assert Case.objects.filter(description__startswith="甲").count() == 4


@on_postgresql
def test_a_batch_is_its_own_threads():
    import threading

    seen = []
    with transaction.atomic(), sql.batch():
        assert sql.batching()
        other = threading.Thread(target=lambda: seen.append(sql.batching()))
        other.start()
        other.join()
    assert seen == [False] and not sql.batching()

"""The intake's queries: the plain-SQL paths write and read exactly what the ORM would, and
the retry check probes its index."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_create, api_client_for_key, api_clients_forget
from duban.cases import services
from duban.cases.models import Case, CaseEvent, Category, Channel
from duban.core import stamps
from duban.core.models import Stamp
from duban.core.sql import insert_row

from .conftest import at

pytestmark = pytest.mark.django_db
KEY = "fast-key-0123456789abcdef"


def _case(category, **extra) -> Case:
    return Case(
        category=category,
        channel=Channel.API,
        description="井盖缺失",
        address="金水东路8号",
        lat=Decimal("34.770001"),
        long=Decimal("113.730002"),
        attributes={"when": "night", "list": ["a", "b"]},
        reporter_name="李四",
        external_id="",
        received_at=at(2022, 9, 30, 10),
        updated_at=at(2022, 9, 30, 10),
        response_deadline=at(2022, 9, 30, 12),
        **extra,
    )


def test_plain_insert_stores_the_row_the_orm_stores(category):
    by_orm = _case(category, tracking_hash="a" * 64)
    models.Model.save(by_orm)
    plain = _case(category, tracking_hash="b" * 64)
    assert insert_row(plain) is True
    assert plain.pk is not None and plain.pk != by_orm.pk
    assert not plain._state.adding and plain._state.db == "default"
    rows = {
        row.pop("id"): row for row in Case.objects.filter(pk__in=[by_orm.pk, plain.pk]).values()
    }
    assert rows[by_orm.pk].pop("tracking_hash") == "a" * 64
    assert rows[plain.pk].pop("tracking_hash") == "b" * 64
    assert rows[by_orm.pk] == rows[plain.pk]
    stored = Case.objects.get(pk=plain.pk)
    assert stored.attributes == {"when": "night", "list": ["a", "b"]}
    assert stored.lat == Decimal("34.770001") and stored.received_at == at(2022, 9, 30, 10)


def test_plain_insert_leaves_models_with_receivers_to_the_orm(category):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_save.connect(receiver, sender=CaseEvent, dispatch_uid="test-plain-insert")
    try:
        case = _case(category)
        case.save()
        event = CaseEvent(case=case, kind="received", at=case.received_at, actor_label="x")
        assert insert_row(event) is False and event.pk is None
        services._event(case, kind="received", actor=None, at=case.received_at)
        assert len(seen) == 1  # _event fell back to save(): the receiver ran
    finally:
        post_save.disconnect(sender=CaseEvent, dispatch_uid="test-plain-insert")
    assert insert_row(case) is False  # not new


def test_new_case_through_save_keeps_its_overdue_bucket(category):
    from duban.cases.models import OverdueMonth

    case = _case(category)
    case.save()
    case2 = _case(category)
    case2.save()
    bucket = OverdueMonth.objects.get()
    assert (bucket.month, bucket.department_key, bucket.street, bucket.n) == (
        dt.date(2022, 9, 1),
        0,
        "金水东路",
        2,
    )
    case.status = "void"
    case.save()
    bucket.refresh_from_db()
    assert bucket.n == 1


def test_api_key_lookup_in_plain_sql_matches_the_orm(planner, dept):
    client = api_client_create(
        name="巡查", scope="cases", actor=planner, department=dept, raw_key=KEY
    )[0]
    found = api_client_for_key(KEY, scope=ApiClient.Scope.CASES)
    expected = ApiClient.objects.get(pk=client.pk)
    assert found == expected == client
    for field in ApiClient._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert found.is_active is True and isinstance(found.created_at, dt.datetime)
    assert found.department == dept
    assert api_client_for_key(KEY, scope=ApiClient.Scope.OPEN311) is None
    assert api_client_for_key("wrong", scope=ApiClient.Scope.CASES) is None
    assert api_client_for_key("", scope=ApiClient.Scope.CASES) is None
    assert api_client_for_key(KEY + "x" * 200, scope=ApiClient.Scope.CASES) is None
    ApiClient.objects.filter(pk=client.pk).update(is_active=False)
    assert api_client_for_key(KEY, scope=ApiClient.Scope.CASES) is None


def test_api_key_lookup_reads_the_stamps_asked_for(planner, dept):
    client = api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)[0]
    names = ("catalogue", "calendar")
    found = api_client_for_key(KEY, scope=ApiClient.Scope.CASES, stamps=names)
    assert found == client and found.department_id is None
    assert found.stamps == stamps.read_many(names) and found.stamps is not None
    stamps.renew("calendar")
    again = api_client_for_key(KEY, scope=ApiClient.Scope.CASES, stamps=names)
    assert again.stamps[0] == found.stamps[0] and again.stamps[1] != found.stamps[1]
    assert not hasattr(api_client_for_key(KEY, scope=ApiClient.Scope.CASES), "stamps")
    # a group without its row (a trigger missing): nothing to trust, as read_many says
    Stamp.objects.filter(name="calendar").delete()
    assert api_client_for_key(KEY, scope=ApiClient.Scope.CASES, stamps=names).stamps is None


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


def test_a_retry_is_found_by_the_unique_constraint_not_looked_for_first(
    client, friday, category, planner
):
    """The usual intake does not look for an earlier submission: a repeated external id
    fails the insert (the transaction rolls back whole) and answers the first case."""
    import json

    from duban.audit.models import AuditEntry

    api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)

    def post(external_id="DR-9"):
        body = {
            "service_code": "noise",
            "description": "井盖缺失",
            "address": "金水东路8号",
            "attributes": {"when": "night"},
            "external_id": external_id,
        }
        return client.post(
            "/api/v1/cases/", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=KEY
        )

    assert post("DR-0").status_code == 201  # the worker's first intake reads the calendar
    with CaptureQueriesContext(connection) as queries:
        first = post()
    assert first.status_code == 201
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [q for q in sql if q.startswith("SELECT id FROM cases_case")], sql
    # API key, the two stamps, then the transaction: case, bucket, event, roll-up, audit.
    statements = [q for q in sql if not q.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 10, statements
    entries = AuditEntry.objects.count()
    again = post()
    assert again.status_code == 200 and again.json() == first.json()
    assert Case.objects.count() == 2 and AuditEntry.objects.count() == entries
    assert rollup_received() == 2


def rollup_received() -> int:
    from django.db.models import Sum

    from duban.cases.models import CaseDayStat

    return CaseDayStat.objects.aggregate(n=Sum("received"))["n"]


def test_a_retry_after_the_calendar_ran_out_still_answers_the_first_case(
    time_machine, category, planner
):
    client = api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)[0]
    data = dict(
        category=category,
        channel="api",
        description="井盖缺失",
        address="金水东路8号",
        attributes={"when": "night"},
        api_client=client,
        external_id="DR-7",
    )
    time_machine.move_to(at(2022, 9, 30, 10), tick=False)
    first = services.case_create(**data)
    # 2026-12-31: three working days run into 2027, which the table does not cover.
    time_machine.move_to(at(2026, 12, 31, 10), tick=False)
    again = services.case_create(**data)
    assert not again.created and again.case.pk == first.case.pk
    with pytest.raises(ValidationError):
        services.case_create(**{**data, "external_id": "DR-8"})


@pytest.mark.django_db(transaction=True)
def test_sqlite_writers_queue_on_a_file_lock(tmp_path, monkeypatch, category, planner):
    import fcntl
    import os

    from django.db import transaction

    from duban.core import sql

    # A transactional test may run on tables an earlier one flushed: load the calendar.
    services.calendar_load(actor=planner)
    lock = tmp_path / "duban.sqlite3-writers"
    monkeypatch.setattr(sql, "_queue_path", lambda: str(lock))
    other = os.open(lock, os.O_RDWR | os.O_CREAT)

    def held() -> bool:
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(other, fcntl.LOCK_UN)
        return False

    try:
        with sql.writer_queue():
            assert held()
        assert not held()
        with transaction.atomic(), sql.writer_queue():
            assert not held()  # inside a transaction: never waits in the queue
        seen = []
        real_flock = fcntl.flock
        monkeypatch.setattr(
            sql.fcntl, "flock", lambda fd, op: (seen.append(op), real_flock(fd, op))
        )
        services.case_create(
            category=category,
            channel="web",
            description="井盖缺失",
            address="金水东路8号",
            attributes={"when": "night"},
        )
        assert seen == [fcntl.LOCK_EX, fcntl.LOCK_UN]
        monkeypatch.setattr(sql, "_queue_path", lambda: str(tmp_path / "missing" / "x"))
        with sql.writer_queue():  # no lock file to be had: writers do without
            pass
    finally:
        os.close(other)


def test_the_intake_answer_is_what_the_schema_renders(client, friday, category, planner):
    """The intake renders its answer itself: the same bytes and headers as the status call,
    which goes through Ninja's CaseOut."""
    import json

    api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)
    body = {
        "service_code": "noise",
        "description": "井盖缺失",
        "lat": "34.77",
        "long": "113.73",
        "attributes": {"when": "night"},
        "external_id": "DR-5",
    }
    created = client.post(
        "/api/v1/cases/", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=KEY
    )
    again = client.post(
        "/api/v1/cases/", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=KEY
    )
    ticket = created.json()["service_request_id"]
    status = client.get(f"/api/v1/cases/{ticket}", HTTP_X_API_KEY=KEY)
    assert (created.status_code, again.status_code, status.status_code) == (201, 200, 200)
    assert created.content == again.content == status.content
    assert created["Content-Type"] == status["Content-Type"]
    assert created.json()["expected_datetime"] == "2022-10-10T18:00:00+08:00"


def test_plain_insert_leaves_sql_expressions_to_the_orm(category):
    from django.db.models.functions import Now

    case = _case(category)
    case.updated_at = Now()
    assert insert_row(case) is False and case.pk is None
    case.save()  # the ORM compiles the expression
    assert Case.objects.get(pk=case.pk).updated_at is not None


def test_plain_insert_writes_null_where_values_are_missing(category):
    """None values go into the statement as NULL literals (psycopg re-parses a statement of
    more than 50 parameters on every call); each pattern of them is one statement."""
    from duban.core import sql

    first, second = _case(category), _case(category, tracking_hash="c" * 64)
    assert insert_row(first) and insert_row(second)
    (_columns, _sql, _returning, variants) = sql._statement(Case)
    assert len(variants) >= 2
    assert all(statement.count("%s") <= 50 for statement in variants.values())
    stored = Case.objects.get(pk=first.pk)
    assert stored.tracking_hash is None and stored.dispatched_at is None
    assert Case.objects.get(pk=second.pk).tracking_hash == "c" * 64


def test_plain_insert_checks_related_objects_as_save_does(category):
    from duban.accounts.models import Department

    department = Department(name="新部门", code="xin")
    case = _case(category, department=department)
    with pytest.raises(ValueError, match="unsaved related object"):
        insert_row(case)
    department.save()  # saved after it was assigned: its key is taken
    assert insert_row(case)
    assert Case.objects.get(pk=case.pk).department_id == department.pk


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_an_intake_reads_the_stamps_with_the_key(client, friday, category, planner, endpoint):
    """The catalogue's and the calendar's stamps in one query, with the category
    (services.intake_tables), on both intake endpoints."""
    import json

    scope = "cases" if endpoint == "api" else "open311"
    api_client_create(name="巡查", scope=scope, actor=planner, raw_key=KEY)

    def post(n: int):
        if endpoint == "api":
            body = {"service_code": "noise", "description": "井盖缺失", "address": "金水东路8号"}
            body["attributes"] = {"when": "night"}
            return client.post(
                "/api/v1/cases/",
                json.dumps(body),
                content_type="application/json",
                HTTP_X_API_KEY=KEY,
            )
        form = {"api_key": KEY, "service_code": "noise", "description": "井盖缺失"}
        form.update({"address_string": f"金水东路{n}号", "attribute[when]": "night"})
        return client.post("/open311/v2/requests.json", form)

    assert post(1).status_code == 201  # the copies made
    api_clients_forget()  # else, on PostgreSQL, the client is not read (test_remembered_client)
    with CaptureQueriesContext(connection) as queries:
        assert post(2).status_code == 201
    # read in the same query as the API key (accounts.tokens.api_client_for_key)
    stamps = [q["sql"] for q in queries if "core_stamp" in q["sql"]]
    assert len(stamps) == 1 and "accounts_apiclient" in stamps[0], stamps
    # and they still guard the copies: a service withdrawn since is refused
    Category.objects.filter(code="noise").update(is_active=False)
    assert post(3).status_code in (400, 404)
    assert Case.objects.count() == 2


def _state_of(instance) -> tuple:
    fields = {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}
    cache = {name: id(value) for name, value in instance._state.fields_cache.items()}
    return fields, cache, instance._state.adding, instance._state.db


def test_build_makes_what_the_model_makes(category, dept, friday):
    from duban.audit.models import AuditEntry
    from duban.core.sql import build

    client = api_client_create(name="巡查", scope="cases", actor=None, raw_key=KEY)[0]
    now = at(2022, 9, 30, 10)
    case_values = {
        "category": category,
        "channel": Channel.API,
        "description": "井盖缺失",
        "address": "金水东路8号",
        "lat": Decimal("34.770001"),
        "long": None,
        "attributes": {"when": "night"},
        "api_client": client,
        "external_id": "A-1",
        "received_at": now,
        "updated_at": now,
    }
    for values in (case_values, {**case_values, "api_client": None, "department_id": dept.pk}):
        assert _state_of(build(Case, **values)) == _state_of(Case(**values))
    case = Case(**case_values)
    case.pk = 41
    for values in (
        {"case": case, "kind": "received", "at": now, "actor": None, "department": dept},
        {"case": case, "kind": "note", "at": now, "actor_label": "x", "department": None},
    ):
        assert _state_of(build(CaseEvent, **values)) == _state_of(CaseEvent(**values))
    entry = {"at": now, "actor": "api:巡查", "action": "case.create", "entity": "cases.case"}
    assert _state_of(build(AuditEntry, **entry)) == _state_of(AuditEntry(**entry))
    # callable defaults are called for each instance, never shared
    assert build(Case).attributes == {} and build(Case).attributes is not build(Case).attributes
    # a related object of the wrong model is refused as the model refuses it
    with pytest.raises(ValueError, match="must be a"):
        build(CaseEvent, case=category)
    with pytest.raises(TypeError, match="unexpected keyword"):
        build(Case, no_such_field=1)
    twice = {"case": case, "case_id": 7, "kind": "note", "at": now}  # the model's way
    assert _state_of(build(CaseEvent, **twice)) == _state_of(CaseEvent(**twice))
    # a receiver of post_init sees the instance as the model's own constructor makes it
    from django.db.models.signals import post_init

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((instance.category_id, "category" in instance._state.fields_cache))

    post_init.connect(receiver, sender=Case)
    try:
        build(Case, category=category)
        Case(category=category)
    finally:
        post_init.disconnect(receiver, sender=Case)
    assert seen[0] == seen[1] == (category.pk, True)

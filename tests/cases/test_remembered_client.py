"""An intake on PostgreSQL in one round trip: the API client remembered by the process and
confirmed inside the case's transaction (accounts.tokens), the case's key from a block
taken ahead (core.sql.reserve_key). Whatever changed since the client was remembered — the
client, its key, the catalogue — the intake decides as a fresh read would."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from duban.accounts.models import ApiClient
from duban.accounts.tokens import (
    api_client_again,
    api_client_changed,
    api_client_confirm,
    api_client_create,
    api_client_for_key,
)
from duban.audit.models import AuditEntry
from duban.cases import services
from duban.cases.models import Attribute, CalendarDay, Case, CaseEvent, Category
from duban.core import sql, stamps

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="batched transactions exist on PostgreSQL only"
)
KEY = "remembered-key-0123456789"
O311 = "remembered-311-0123456789"


@pytest.fixture
def systems(planner):
    cases = api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)[0]
    open311 = api_client_create(name="市民通", scope="open311", actor=planner, raw_key=O311)[0]
    return cases, open311


def post_api(client, n: int, **extra):
    body = {
        "service_code": "noise",
        "description": f"噪音 {n}",
        "address": f"金水东路{n}号",
        "attributes": {"when": "night"},
        **extra,
    }
    return client.post(
        "/api/v1/cases/", json.dumps(body), content_type="application/json", HTTP_X_API_KEY=KEY
    )


def post_311(client, n: int, **extra):
    form = {
        "api_key": O311,
        "service_code": "noise",
        "description": f"噪音 {n}",
        "address_string": f"金水东路{n}号",
        "attribute[when]": "night",
        **extra,
    }
    return client.post("/open311/v2/requests.json", form)


POSTS = {"api": post_api, "open311": post_311}


def _sent(queries) -> list[str]:
    return [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


def _prepared_texts() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


@on_postgresql
@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_remembered_client_costs_no_query_of_its_own(client, friday, category, systems, endpoint):
    post = POSTS[endpoint]
    # The client and the catalogue's copies read; keys taken in blocks of 1, then 2 (more
    # than one intake a second: intakes under load)
    assert post(client, 1).status_code == 201
    assert post(client, 2).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = post(client, 3)
    assert response.status_code == 201, response.content
    sent = _sent(queries)
    # Only the transaction's string, and in it first the confirmation of the client.
    assert len(sent) == 1 and "EXECUTE duban_" in sent[0], sent
    names = re.findall(r"EXECUTE (duban_\w+)", sent[0])
    texts = _prepared_texts()
    assert "duban_require" in texts[names[0]] and "accounts_apiclient" in texts[names[0]]
    assert Case.objects.filter(description="噪音 3").count() == 1


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_client_deactivated_since_files_nothing(client, friday, category, systems, endpoint):
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    ApiClient.objects.update(is_active=False)
    response = post(client, 2)
    assert response.status_code == (401 if endpoint == "api" else 403), response.content
    assert not Case.objects.filter(description="噪音 2").exists()
    assert AuditEntry.objects.filter(action="case.create").count() == 1
    assert post(client, 3).status_code == (401 if endpoint == "api" else 403)  # not remembered


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_client_deactivated_since_gets_the_keys_refusal_not_the_bodys(
    client, friday, category, systems, endpoint
):
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    ApiClient.objects.update(is_active=False)
    if endpoint == "api":
        assert post(client, 2, channel="fax").status_code == 401
        assert post(client, 3, service_code="nope").status_code == 401
    else:
        assert post(client, 2, service_code="").status_code == 403
        assert post(client, 3, service_code="nope").status_code == 403


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_key_changed_since_is_refused(client, friday, category, systems, endpoint):
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    ApiClient.objects.filter(pk=systems[endpoint == "open311"].pk).update(key_hash="0" * 64)
    assert post(client, 2).status_code in (401, 403)
    assert Case.objects.count() == 1


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_client_renamed_since_files_under_its_new_name(
    client, friday, category, systems, endpoint
):
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    ApiClient.objects.filter(pk=systems[endpoint == "open311"].pk).update(name="新名字")
    assert post(client, 2).status_code == 201
    case = Case.objects.get(description="噪音 2")  # once: the first try was rolled back
    assert CaseEvent.objects.get(case=case, kind="received").actor_label.endswith("新名字")
    assert AuditEntry.objects.get(action="case.create", entity_id=str(case.pk)).actor.endswith(
        "新名字"
    )


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_service_withdrawn_since_is_refused(client, friday, category, systems, endpoint):
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    Category.objects.filter(code="noise").update(is_active=False)
    assert post(client, 2).status_code in (400, 404)
    assert Case.objects.count() == 1


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_a_question_added_since_is_known(client, friday, category, systems, endpoint):
    """A refusal decided on the remembered catalogue is decided again on the current one."""
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    Attribute.objects.create(
        category=category, code="floor", datatype="string", required=False, description="楼层"
    )
    extra = {"attributes": {"when": "night", "floor": "3"}}
    if endpoint == "open311":
        extra = {"attribute[floor]": "3"}
    response = post(client, 2, **extra)
    assert response.status_code == 201, response.content
    assert Case.objects.get(description="噪音 2").attributes["floor"] == "3"


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_deadlines_follow_a_limit_changed_since(client, friday, category, systems, endpoint):
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    first = Case.objects.get(description="噪音 1")
    Category.objects.filter(pk=category.pk).update(resolution_limit=10)
    assert post(client, 2).status_code == 201
    second = Case.objects.get(description="噪音 2")
    assert second.resolution_deadline > first.resolution_deadline


@pytest.mark.parametrize("endpoint", ["api", "open311"])
def test_deadlines_follow_a_calendar_changed_since(client, friday, category, systems, endpoint):
    """Filed on Friday 2022-09-30, three working days end on Monday 10-10 (10-08 and 10-09
    were working weekend days): unless 10-08 is made a holiday since."""
    post = POSTS[endpoint]
    assert post(client, 1).status_code == 201
    assert _local_day(Case.objects.get(description="噪音 1").resolution_deadline) == "2022-10-10"
    CalendarDay.objects.filter(date="2022-10-08").update(is_workday=False)
    assert post(client, 2).status_code == 201
    assert _local_day(Case.objects.get(description="噪音 2").resolution_deadline) == "2022-10-11"


def _local_day(moment) -> str:
    return timezone.localtime(moment).date().isoformat()


def test_a_retry_after_the_calendar_ran_out_checks_the_key_again(client, friday, category, systems):
    """A retry whose deadline cannot be computed any more still finds its first case — with
    no transaction that could confirm a remembered client: the key is read again."""
    assert post_api(client, 1, external_id="A-1").status_code == 201
    friday.move_to(dt.datetime(2045, 3, 1, 10, tzinfo=dt.UTC), tick=False)
    assert post_api(client, 1, external_id="A-1").status_code == 200  # the same case
    ApiClient.objects.update(is_active=False)
    assert post_api(client, 1, external_id="A-1").status_code == 401
    assert Case.objects.count() == 1


def test_a_retry_with_a_remembered_client_returns_the_first_case(client, friday, category, systems):
    first = post_api(client, 1, external_id="A-1")
    assert first.status_code == 201
    again = post_api(client, 1, external_id="A-1")
    assert again.status_code == 200
    assert again.json()["service_request_id"] == first.json()["service_request_id"]
    assert Case.objects.count() == 1


@on_postgresql
def test_the_confirmation_rolls_back_the_whole_transaction(friday, make_case, systems):
    cases_client = systems[0]
    api_client_for_key(KEY, scope="cases", stamps=services.INTAKE_STAMPS, cached=True)
    remembered = api_client_for_key(KEY, scope="cases", stamps=services.INTAKE_STAMPS, cached=True)
    assert remembered.pk == cases_client.pk and getattr(remembered, "_duban_memo", None)
    stamps.renew("catalogue")  # the catalogue moved: what was read with the client is old
    before = (Case.objects.count(), CaseEvent.objects.count(), AuditEntry.objects.count())
    with pytest.raises(services.ApiClientChanged):
        make_case(channel="api", description="回滚", api_client=remembered)
    after = (Case.objects.count(), CaseEvent.objects.count(), AuditEntry.objects.count())
    assert after == before
    assert api_client_again(remembered)  # forgotten: the next lookup reads it
    fresh = api_client_for_key(KEY, scope="cases", stamps=services.INTAKE_STAMPS, cached=True)
    assert not hasattr(fresh, "_duban_memo")
    assert not api_client_again(fresh)
    # remembered again now; a caller deciding again asks for a read all the same (another
    # thread may have remembered the client between its forgetting and its read)
    again = api_client_for_key(
        KEY, scope="cases", stamps=services.INTAKE_STAMPS, cached=True, fresh=True
    )
    assert not hasattr(again, "_duban_memo")


@on_postgresql
def test_only_the_confirmation_counts_as_a_changed_client(friday, category, systems):
    with pytest.raises(DatabaseError) as refused:
        with transaction.atomic():
            sql.run("SELECT duban_require(false, 'x')", [])
    assert api_client_changed(refused.value)
    with pytest.raises(DatabaseError) as other:
        with transaction.atomic():
            sql.run("SELECT 1 / 0", [])
    assert not api_client_changed(other.value)
    assert sql.run("SELECT duban_require(true, 'x')", []).fetchone() == (True,)


def test_a_client_read_now_needs_no_confirmation(friday, category, systems):
    fresh = api_client_for_key(KEY, scope="cases", stamps=services.INTAKE_STAMPS, cached=True)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        api_client_confirm(fresh)
    assert [q for q in queries if "duban_require" in q["sql"]] == []


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite")
def test_sqlite_never_gives_a_remembered_client(friday, category, systems):
    for _ in range(2):
        found = api_client_for_key(KEY, scope="cases", stamps=services.INTAKE_STAMPS, cached=True)
        assert found is not None and not hasattr(found, "_duban_memo")


# -- the keys taken ahead --------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(sql, "_monotonic", lambda: now[0])
    return now


def _new_case(category) -> Case:
    return Case(category=category, channel="web", description="x", address="y")


@on_postgresql
def test_keys_come_in_blocks_that_grow_while_used_up_in_time(category, clock):
    taken = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(7):
            case = _new_case(category)
            assert sql.reserve_key(case)
            taken.append(case.pk)
    fetches = [q["sql"] for q in queries if "nextval" in q["sql"]]
    assert len(fetches) == 3  # blocks of 1, 2 and 4 keys
    assert taken == sorted(taken) and len(set(taken)) == 7


@on_postgresql
def test_an_old_block_is_dropped_and_the_next_is_what_was_used(category, clock):
    for _ in range(3):  # blocks of 1 and 2: the second used up
        sql.reserve_key(_new_case(category))
    case = _new_case(category)
    sql.reserve_key(case)  # a block of 4, one used
    clock[0] += sql.KEY_BLOCK_SECONDS + 0.1
    later = _new_case(category)
    with CaptureQueriesContext(connection) as queries:
        sql.reserve_key(later)
    assert len([q for q in queries if "nextval" in q["sql"]]) == 1  # not the old block's
    assert later.pk > case.pk + 3
    block = sql._key_blocks[("default", Case)]
    assert block.size == 1 and block.keys == []  # what the old block's time used


@on_postgresql
def test_a_forked_process_takes_keys_of_its_own(category, clock, monkeypatch):
    parent = _new_case(category)
    sql.reserve_key(parent)
    sql.reserve_key(_new_case(category))  # the parent now holds a block of 2, one left
    monkeypatch.setattr(sql.os, "getpid", lambda: -1)
    child = _new_case(category)
    sql.reserve_key(child)
    assert child.pk > parent.pk + 2


@on_postgresql
def test_reserved_keys_are_stored_as_given(friday, make_case):
    cases = [make_case(address=f"金水东路{n}号").case for n in range(3)]
    for case in cases:
        assert Case.objects.get(pk=case.pk).address == case.address


def test_only_keys_made_by_a_sequence_are_reserved():
    from duban.audit.models import AuditHead

    assert not sql.reserve_key(AuditHead(id=None, seq=0, hash=""))  # its key is given


@on_postgresql
def test_the_demo_writes_above_the_keys_a_worker_holds(category, clock):
    from duban.cases.demo import build_cases_demo
    from duban.demo import demo_departments

    held = [_new_case(category) for _ in range(3)]
    for case in held:  # blocks of 1 and 2; then a block of 4 with three keys left
        sql.reserve_key(case)
    sql.reserve_key(_new_case(category))
    build_cases_demo(departments=demo_departments(), total=30)
    later = _new_case(category)
    sql.reserve_key(later)  # a key held since before the demo
    assert not Case.objects.filter(pk=later.pk).exists()
    fresh = _new_case(category)
    sql.forget_reserved_keys()
    sql.reserve_key(fresh)
    assert fresh.pk > Case.objects.order_by("-id").first().pk  # the sequence moved past


@on_postgresql
def test_at_most_so_many_clients_are_remembered(friday, category, systems, monkeypatch):
    from duban.accounts import tokens

    monkeypatch.setattr(tokens, "MOST_REMEMBERED", 1)
    api_client_for_key(KEY, scope="cases", cached=True)
    api_client_for_key(O311, scope="open311", cached=True)  # the first one forgotten
    assert len(tokens._remembered) == 1


@on_postgresql
def test_blocks_grow_no_larger_than_the_most(category, clock, monkeypatch):
    monkeypatch.setattr(sql, "KEY_BLOCK_MOST", 2)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(7):
            sql.reserve_key(_new_case(category))
    assert len([q for q in queries if "nextval" in q["sql"]]) == 4  # blocks of 1, 2, 2, 2

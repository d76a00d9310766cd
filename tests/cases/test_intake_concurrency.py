"""Concurrent writers on PostgreSQL: intakes racing to insert the same roll-up row and
dispatches of the cases they create. Every write locks the case row, then the roll-up rows
in key order, then the audit chain's head: no deadlock, nothing lost, the roll-up exact and
the chain intact. (SQLite has one writer at a time: nothing to race.)"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from duban.audit.models import AuditEntry
from duban.audit.services import audit_verify
from duban.cases import rollup, services
from duban.cases.models import Case, Status

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks and races need PostgreSQL"
    ),
]


def test_concurrent_intakes_and_dispatches_keep_everything_exact(category, planner):
    # A transactional test runs on tables that earlier transactional tests (the browser
    # tests' live server) flushed: the working-day table the migrations load may be empty.
    services.calendar_load(actor=planner)
    intakers, per_thread, dispatchers = 4, 12, 2
    start = threading.Barrier(intakers + dispatchers)
    done = threading.Event()
    errors: list[BaseException] = []

    def intake(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                services.case_create(
                    category=category,
                    channel="hotline" if i % 2 else "web",
                    description=f"并发 {n}-{i}",
                    address=f"金水东路{n}号",
                    attributes={"when": "night"},
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def dispatch() -> None:
        try:
            start.wait()
            while True:
                finished = done.is_set()
                waiting = list(Case.objects.filter(status=Status.RECEIVED).order_by("?")[:5])
                for case in waiting:
                    try:
                        services.case_dispatch(case=case, actor=planner)
                    except services.TransitionRefused:
                        pass  # the other dispatcher was first
                if finished and not waiting:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=intake, args=(n,)) for n in range(intakers)]
    workers = [threading.Thread(target=dispatch) for _ in range(dispatchers)]
    for thread in threads + workers:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == [], "\n".join(map(str, errors))
    total = intakers * per_thread
    assert Case.objects.count() == total
    assert Case.objects.filter(status=Status.DISPATCHED).count() == total
    assert rollup.check() == []
    assert audit_verify().ok
    assert AuditEntry.objects.filter(action="case.create").count() == total
    assert AuditEntry.objects.filter(action="case.dispatch").count() == total

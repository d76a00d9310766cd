"""The PostgreSQL backend's health check: no round trip while the server has said
nothing, Django's SELECT 1 when it has, and a connection the server closed is replaced
before the request uses it."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection, connections

from duban.accounts.models import Department

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backend"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def asked(monkeypatch):
    """How many times Django's own check (SELECT 1) ran."""
    calls = []
    original = type(connections["default"]).is_usable

    def is_usable(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(type(connections["default"]), "is_usable", is_usable)
    return calls


def _new_request() -> None:
    # What Django does at the start of every request (request_started).
    connection.close_if_unusable_or_obsolete()


def test_a_quiet_connection_is_used_without_asking(asked, settings):
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    assert connection.settings_dict["ENGINE"] == "duban.core.postgresql"
    connection.ensure_connection()
    for _ in range(3):
        _new_request()
        assert Department.objects.count() == 0
    assert asked == []
    assert connection.health_check_done


def test_a_connection_the_server_closed_is_replaced(asked):
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k not in {"cursor_factory", "context"}},
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)  # the server's goodbye reaches our socket
    _new_request()
    assert Department.objects.count() == 0  # a new connection answered
    assert asked == [1]
    assert connection.connection.info.backend_pid != pid

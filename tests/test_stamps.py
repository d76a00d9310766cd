"""Stamps (duban.core.stamps): the migrated database has exactly the triggers the code
expects, they renew a group's stamp on every kind of write of its tables and on no other,
and a group whose triggers are incomplete keeps nothing."""

from __future__ import annotations

import warnings

import pytest
from django.core.management import call_command
from django.db import connection

from duban.accounts.models import Department
from duban.core import stamps
from duban.core.models import Stamp

pytestmark = pytest.mark.django_db


def _versions() -> dict[str, int]:
    return dict(Stamp.objects.values_list("name", "version"))


def test_the_database_has_exactly_the_expected_triggers():
    expected = {
        (table, trigger)
        for name, tables in stamps.GROUPS.items()
        for table in tables
        for trigger in stamps.trigger_names(connection.vendor, name, table)
    }
    assert stamps.installed() == expected
    assert not any(stamps.missing().values())
    assert set(_versions()) == set(stamps.GROUPS)
    # The cases' hot tables (every intake) renew nothing; the plans' and the pipeline's
    # groups share only the departments.
    assert not {table for table, _ in expected if table.startswith("cases_case")}
    assert set(stamps.GROUPS["plans"]) & set(stamps.GROUPS["pipeline"]) == {"accounts_department"}


def test_every_kind_of_write_renews_the_groups_of_its_table_and_no_other():
    before = _versions()
    Department.objects.bulk_create([Department(name="新单位", code="xin")])  # insert
    after_insert = _versions()
    assert {n for n in before if before[n] != after_insert[n]} == {"plans", "pipeline"}
    with connection.cursor() as cursor:  # update, in plain SQL
        cursor.execute("UPDATE accounts_department SET name = %s WHERE code = %s", ["改", "xin"])
    after_update = _versions()
    assert after_update["plans"] != after_insert["plans"]
    assert after_update["pipeline"] != after_insert["pipeline"]
    assert after_update["calendar"] == before["calendar"]
    Department.objects.filter(code="xin").delete()  # delete
    after_delete = _versions()
    assert after_delete["plans"] != after_update["plans"]
    assert after_delete["catalogue"] == before["catalogue"]


def test_a_group_missing_a_trigger_keeps_nothing():
    """A migration that rebuilds a table on SQLite drops its triggers: after migrate the
    group's row goes (nothing is kept under a stamp that no longer moves), with a warning."""
    table = stamps.GROUPS["plans"][1]
    trigger = stamps.trigger_names(connection.vendor, "plans", table)[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER {trigger} ON {table}")
        else:
            cursor.execute(f"DROP TRIGGER {trigger}")
    assert stamps.missing()["plans"] == [trigger]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stamps.after_migrate(using=connection.alias)
    assert [str(w.message) for w in caught if "'plans'" in str(w.message)]
    assert stamps.read("plans") is None
    assert stamps.read("pipeline") is not None
    # Back with its trigger (what the fixing migration runs): the row is made again.
    # (Not entered: SQLite refuses a schema editor inside the test's transaction.)
    stamps.install(connection.SchemaEditorClass(connection), "plans", stamps.GROUPS["plans"])
    assert stamps.read("plans") is not None and not stamps.missing()["plans"]


def test_without_triggers_nothing_is_read(monkeypatch):
    """Databases other than SQLite and PostgreSQL have no triggers: no stamp to trust, and
    what is kept under stamps is computed every time."""
    from duban.plans import freshness

    assert stamps.trigger_names("oracle", "plans", "plans_plan") == []
    assert stamps.read("plans") is not None  # this database has them
    monkeypatch.setattr(connection, "vendor", "oracle")
    assert stamps.read("plans") is None
    assert stamps.read_many(("plans", "pipeline")) is None
    computed = []
    for _ in range(2):
        freshness.remembered(1, None, lambda: computed.append(1) or ["row"])
    assert computed == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_flush_puts_the_rows_back():
    call_command("flush", interactive=False, verbosity=0)
    assert set(_versions()) == set(stamps.GROUPS)
    assert not Department.objects.exists()

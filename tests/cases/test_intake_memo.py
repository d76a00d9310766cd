"""The calendar and the catalogue kept in memory by each worker: one small query per use,
and any change of their tables — through the services, the ORM without signals, or plain
SQL — is seen at once (triggers change the stamp)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from duban.cases import services
from duban.cases.models import Attribute, CalendarDay, Category
from duban.core.models import Stamp

from .conftest import at

pytestmark = pytest.mark.django_db


def test_catalogue_is_read_once_and_changes_are_seen(category, django_assert_num_queries):
    services.category_for_code("noise")
    with django_assert_num_queries(1):  # the stamp
        kept = services.category_for_code("noise")
        assert [a.code for a in kept.attributes.all()] == ["when", "db"]
    kept.name = "changed by a caller"  # callers get copies
    assert services.category_for_code("noise").name == "噪音扰民"
    stamp = Stamp.objects.get(name="catalogue").version
    Category.objects.filter(code="noise").update(is_active=False, name="噪音")
    assert Stamp.objects.get(name="catalogue").version != stamp
    fresh = services.category_for_code("noise")
    assert (fresh.name, fresh.is_active) == ("噪音", False)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_attribute SET required = %s WHERE code = %s", [False, "when"])
    assert not services.category_for_code("noise").attributes.all()[0].required
    Attribute.objects.filter(code="db").delete()
    assert [a.code for a in services.category_for_code("noise").attributes.all()] == ["when"]
    assert services.category_for_code("nothing") is None


def test_calendar_is_read_once_and_changes_are_seen(
    time_machine, make_case, django_assert_num_queries
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)  # Monday
    assert make_case().case.resolution_deadline == at(2022, 9, 29, 18)
    calendar = services._calendar()
    calendar.is_workday(dt.date(2022, 9, 27))
    with django_assert_num_queries(1):  # the stamp
        calendar = services._calendar()
        assert calendar.deadline(at(2022, 9, 26, 9), 3, "working_days") == at(2022, 9, 29, 18)
    # An administrator makes Tuesday a holiday (plain SQL, no signal): seen at once.
    CalendarDay.objects.bulk_create([CalendarDay(date=dt.date(2022, 9, 27), is_workday=False)])
    assert make_case().case.resolution_deadline == at(2022, 9, 30, 18)
    CalendarDay.objects.filter(date=dt.date(2022, 9, 27)).delete()
    assert make_case().case.resolution_deadline == at(2022, 9, 29, 18)


def test_without_a_stamp_the_tables_are_read_every_time(category, django_assert_num_queries):
    Stamp.objects.all().delete()
    with django_assert_num_queries(3):  # the stamp (none), the category, its attributes
        assert services.category_for_code("noise").code == "noise"
    assert services._calendar().is_workday(dt.date(2022, 10, 8))  # 调休


def test_intake_tables_check_both_copies_in_one_query(time_machine, make_case):
    from django.test.utils import CaptureQueriesContext

    time_machine.move_to(at(2022, 9, 26, 9), tick=False)  # Monday
    services.intake_tables("noise")  # both copies made,
    make_case()  # and the days of 2022 read into the calendar's
    with CaptureQueriesContext(connection) as queries:
        category, calendar = services.intake_tables("noise")
        assert calendar.deadline(at(2022, 9, 26, 9), 3, "working_days") == at(2022, 9, 29, 18)
    assert len(queries) == 1 and "core_stamp" in queries[0]["sql"]
    assert category.code == "noise"
    # The calendar given to the intake is the one used: it reads no stamp of its own.
    with CaptureQueriesContext(connection) as queries:
        make_case(category=category, calendar=calendar)
    assert not [q for q in queries if "core_stamp" in q["sql"]]
    # A change of the calendar is seen by the next intake_tables().
    CalendarDay.objects.bulk_create([CalendarDay(date=dt.date(2022, 9, 27), is_workday=False)])
    category, calendar = services.intake_tables("noise")
    case = make_case(category=category, calendar=calendar).case
    assert case.resolution_deadline == at(2022, 9, 30, 18)
    assert services.intake_tables("nothing")[0] is None

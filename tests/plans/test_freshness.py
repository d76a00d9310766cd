"""The status of a whole plan is remembered per worker under the plans' and the pipeline's
stamps, which database triggers renew on every write: every write shows at once, whoever
makes it (the ORM, a bulk write, plain SQL), and the remembered rows are not recomputed
otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from duban.accounts.models import Department
from duban.plans import freshness
from duban.plans.models import Commitment, Plan, ProgressReport
from duban.plans.selectors import plan_status
from tests.plans.factories import approved_report, make_commitment, make_plan

SEP = dt.date(2022, 9, 30)


def _row(plan, commitment):
    return next(r for r in plan_status(plan, as_of=SEP).rows if r.commitment.id == commitment.pk)


def test_remembered_status_follows_every_write(db, dept, other_dept):
    plan = make_plan(2022)
    parking = make_commitment(plan, dept, key="p", value=Decimal(1000))
    approved_report(parking, dt.date(2022, 7, 31), 100)
    assert _row(plan, parking).status == "red"
    freshness.plans_changed()
    with CaptureQueriesContext(connection) as computed:
        plan_status(plan, as_of=SEP)
    with CaptureQueriesContext(connection) as remembered:
        plan_status(plan, as_of=SEP)
    assert len(remembered) == 1 < len(computed)  # the two stamps, nothing more
    approved_report(parking, dt.date(2022, 8, 31), 950)  # a new approved report
    assert _row(plan, parking).status == "green"
    parking.value = Decimal(5000)  # the target raised
    parking.save()
    assert _row(plan, parking).status == "red"
    dept.name = "新名字"
    dept.save()
    assert _row(plan, parking).commitment.lead_department.name == "新名字"
    plan.yellow_ratio = Decimal("0.1")  # a threshold of the plan
    plan.save()
    assert _row(plan, parking).status == "yellow"
    other = make_commitment(plan, other_dept, key="o", indicator="公园游园")
    assert {r.commitment.id for r in plan_status(plan, as_of=SEP).rows} == {parking.pk, other.pk}
    other.delete()
    assert [r.commitment.id for r in plan_status(plan, as_of=SEP).rows] == [parking.pk]
    # Another day is another entry.
    assert _row(plan, parking).status != "grey"
    early = plan_status(plan, as_of=dt.date(2022, 1, 15)).rows[0]
    assert early.latest_value is None


def test_bulk_and_plain_sql_writes_show_at_once(db, dept, other_dept):
    """bulk_create, queryset.update() and .delete() and plain SQL send no signals and call
    nothing: the triggers renew the plans' stamp all the same."""
    plan = make_plan(2022)
    parking = make_commitment(plan, dept, key="p", value=Decimal(1000))
    approved_report(parking, dt.date(2022, 7, 31), 100)
    assert _row(plan, parking).status == "red"

    stamp = freshness.version()
    at = dt.datetime(2022, 9, 3, 10, tzinfo=dt.UTC)
    ProgressReport.objects.bulk_create(
        [
            ProgressReport(
                commitment=parking,
                department=dept,
                period_end=dt.date(2022, 8, 31),
                status=ProgressReport.Status.APPROVED,
                value=Decimal(950),
                created_at=at,
                submitted_at=at,
                reviewed_at=at,
            )
        ]
    )
    assert freshness.version() != stamp
    assert _row(plan, parking).status == "green"

    Commitment.objects.filter(pk=parking.pk).update(value=Decimal(5000))
    assert _row(plan, parking).status == "red"

    Plan.objects.filter(pk=plan.pk).update(yellow_ratio=Decimal("0.1"))
    plan.refresh_from_db()
    assert _row(plan, parking).status == "yellow"

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_department SET name = %s WHERE id = %s", ["新名字", dept.pk]
        )
    assert _row(plan, parking).commitment.lead_department.name == "新名字"

    stamp = freshness.version()
    Commitment.co_departments.through.objects.bulk_create(
        [Commitment.co_departments.through(commitment=parking, department=other_dept)]
    )
    assert freshness.version() != stamp

    other = make_commitment(plan, other_dept, key="o", indicator="公园游园")
    assert {r.commitment.id for r in plan_status(plan, as_of=SEP).rows} == {parking.pk, other.pk}
    Commitment.objects.filter(pk=other.pk).delete()
    assert [r.commitment.id for r in plan_status(plan, as_of=SEP).rows] == [parking.pk]

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM plans_progressreport WHERE commitment_id = %s", [parking.pk])
    assert _row(plan, parking).latest_value is None


def test_a_rolled_back_write_never_brings_back_a_stamp(db, dept):
    """Stamps are random: a write rolled back, then another, never meet on one stamp (a
    counter would, and the rows kept under it would be served for the other data)."""
    plan = make_plan(2022)
    parking = make_commitment(plan, dept, key="p", value=Decimal(1000))
    approved_report(parking, dt.date(2022, 7, 31), 100)
    before = freshness.version()
    with transaction.atomic():
        Commitment.objects.filter(pk=parking.pk).update(value=Decimal(1))
        assert _row(plan, parking).status == "green"
        inside = freshness.version()
        transaction.set_rollback(True)
    assert freshness.version() == before
    Commitment.objects.filter(pk=parking.pk).update(value=Decimal(2000))
    assert freshness.version() not in (before, inside)
    assert _row(plan, parking).status == "red"


def test_no_stamp_no_remembering(db, dept):
    """Without the plans' row (a database without triggers, or a trigger missing), the
    status is computed every time, never kept."""
    plan = make_plan(2022)
    make_commitment(plan, dept, key="p")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_stamp WHERE name = 'plans'")
    assert freshness.version() is None
    plan_status(plan, as_of=SEP)
    with CaptureQueriesContext(connection) as again:
        plan_status(plan, as_of=SEP)
    assert len(again) > 1  # computed again
    Department.objects.filter(pk=dept.pk).update(name="改名")  # no stamp to renew
    assert plan_status(plan, as_of=SEP).rows[0].commitment.lead_department.name == "改名"

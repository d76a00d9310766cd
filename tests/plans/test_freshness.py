"""The status of a whole plan is remembered per worker under the plan data's version:
every write shows at once, and the remembered rows are not recomputed otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.plans import freshness
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
    assert len(remembered) == 2 < len(computed)  # the two version tokens, nothing more
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

"""Small hand-made plans for tracking tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from duban.plans.models import Commitment, Plan, ProgressReport


def make_plan(year: int = 2022) -> Plan:
    return Plan.objects.create(year=year, title=f"{year}年度工作计划")


def make_commitment(plan: Plan, lead, **fields) -> Commitment:
    defaults = {
        "key": f"k{Commitment.objects.count()}",
        "section": "城市管理",
        "indicator": "新增停车位",
        "text": "新增停车位6000个",
        "measure": "level",
        "comparator": "ge",
        "value": Decimal("6000"),
        "unit": "个",
        "deadline": dt.date(plan.year, 12, 31),
        "lead_department": lead,
        "created_at": dt.datetime(plan.year, 2, 24, tzinfo=dt.UTC),
    }
    defaults.update(fields)
    return Commitment.objects.create(plan=plan, **defaults)


def approved_report(
    commitment: Commitment,
    period_end: dt.date,
    value=None,
    done_date=None,
    *,
    approved_on=None,
    version=1,
) -> ProgressReport:
    at = dt.datetime.combine(
        approved_on or period_end + dt.timedelta(days=3), dt.time(10), tzinfo=dt.UTC
    )
    return ProgressReport.objects.create(
        commitment=commitment,
        department_id=commitment.lead_department_id,
        period_end=period_end,
        version=version,
        status=ProgressReport.Status.APPROVED,
        value=None if value is None else Decimal(str(value)),
        done_date=done_date,
        created_at=at,
        submitted_at=at,
        reviewed_at=at,
    )

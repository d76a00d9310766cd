"""A plausible year of progress for the fixture plan, as of a date (2022-09-30 in the
demo): most commitments on pace, a realistic minority behind or lagging, some reports
overdue, a few awaiting review, notices open. Deterministic: every figure comes from a
random generator seeded by the commitment's key."""

from __future__ import annotations

import datetime as dt
import random
import zlib
from decimal import Decimal

from django.db import transaction

from duban import clock
from duban.audit.services import audit_record
from duban.plans import pace, tracking
from duban.plans.models import Commitment, Plan, ProgressReport, SupervisionNotice
from duban.plans.selectors import target_for

# Indicators whose monthly amounts are seasonal (a slow start after the Spring Festival).
SEASONAL = (
    "固定资产投资",
    "社会消费品零售总额",
    "地区生产总值",
    "规模以上工业增加值",
    "一般公共预算收入",
)
SEASONAL_SHARES = [5, 6, 8, 8, 8, 9, 8, 8, 9, 9, 10, 12]
# Commitments whose figure the project pipeline knows: (words in the indicator or clause,
# metric). 确保今年新开工项目三季度前要开工90%以上; 前期项目要开工50%以上.
PIPELINE_METRICS = [
    ("新开工项目", "projects.new_start_rate_by_q3"),
    ("前期项目", "projects.preparatory_start_rate"),
]


def _rng(commitment: Commitment) -> random.Random:
    return random.Random(zlib.crc32(commitment.key.encode("utf-8")))


def _q(value: Decimal, unit: str | None) -> Decimal:
    if unit in ("%", "个百分点"):
        return value.quantize(Decimal("0.1"))
    if unit == "元":
        return value.quantize(Decimal("1000000"))
    return value.quantize(Decimal("1"))


def _configure(commitment: Commitment, rng: random.Random) -> None:
    from duban.plans.metrics import registry

    commitment.cadence = "quarterly" if rng.random() < 0.15 else "monthly"
    if commitment.measure == "share":
        commitment.from_baseline = commitment.baseline_value is not None
    if any(name in commitment.indicator for name in SEASONAL) and commitment.measure == "level":
        commitment.pace_profile = "seasonal"
        commitment.pace_values = [str(v) for v in SEASONAL_SHARES]
    metric = next(
        (
            m
            for words, m in PIPELINE_METRICS
            if commitment.measure == "share" and words in commitment.text
        ),
        None,
    )
    if metric and metric in registry():
        commitment.data_source = "computed"
        commitment.metric = metric
        commitment.cadence = "monthly"
    commitment.save()


def _performance(rng: random.Random) -> tuple[Decimal, bool]:
    """How well this commitment goes: a factor on its pace, and whether its department
    stops reporting after July."""
    draw = rng.random()
    if draw < 0.68:
        factor = Decimal(str(round(rng.uniform(1.0, 1.18), 3)))
    elif draw < 0.85:
        factor = Decimal(str(round(rng.uniform(0.82, 0.97), 3)))
    else:
        factor = Decimal(str(round(rng.uniform(0.45, 0.75), 3)))
    return factor, rng.random() < 0.08


def _stamp(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=clock.now().tzinfo)


def build_tracking_demo(*, plan: Plan, planner, as_of: dt.date) -> str:
    if ProgressReport.objects.filter(commitment__plan=plan).exists():
        return "progress reports already loaded"
    reports: list[ProgressReport] = []
    thresholds = plan.thresholds()
    with clock.as_of(as_of), transaction.atomic():
        for commitment in plan.commitments.select_related("lead_department").order_by("id"):
            rng = _rng(commitment)
            _configure(commitment, rng)
            if commitment.data_source != "manual" or commitment.lead_department_id is None:
                continue
            reports.extend(_reports_for(commitment, plan, rng, thresholds, as_of))
        ProgressReport.objects.bulk_create(reports, batch_size=500)
        audit_record(
            actor=planner,
            action="demo.progress_load",
            entity="plans.plan",
            entity_id=plan.pk,
            after={"reports": len(reports), "as_of": as_of.isoformat()},
        )
        drafted = tracking.supervision_sweep(plan=plan, actor=planner)
        # The office has issued most of them; one department has already replied.
        for index, notice in enumerate(drafted):
            if index % 3 == 2:
                continue
            tracking.notice_issue(
                notice=notice,
                actor=planner,
                reply_deadline=as_of + dt.timedelta(days=7 + index % 5),
                email=False,
            )
        answered = (
            SupervisionNotice.objects.filter(commitment__plan=plan, status="issued")
            .order_by("id")
            .first()
        )
        if answered is not None:
            from duban.accounts.models import User

            reporter = User.objects.filter(
                department_id=answered.department_id, role="reporter"
            ).first()
            if reporter is not None:
                tracking.notice_reply(
                    notice=answered,
                    actor=reporter,
                    reply="受疫情影响，部分工地停工两周，进度滞后。",
                    measures="倒排工期、挂图作战，10月底前追回进度。",
                )
        tracking.reminders_send(plan=plan, email=False)
    return f"{len(reports)} progress reports, {len(drafted)} supervision notices as of {as_of}"


def _reports_for(commitment, plan, rng, thresholds, as_of):
    target = target_for(commitment, plan)
    factor, stops = _performance(rng)
    periods = [
        p
        for p in pace.periods(plan.year, commitment.cadence)
        if pace.report_due(p, thresholds) <= as_of and p <= (commitment.deadline or p)
    ]
    if stops:
        periods = [p for p in periods if p.month <= 7]
    result = []
    for index, period in enumerate(periods):
        last = index == len(periods) - 1
        filed = period + dt.timedelta(days=rng.randint(1, thresholds.report_grace_days))
        value = done = None
        if commitment.measure == "milestone":
            if commitment.deadline and commitment.deadline <= period:
                if factor >= Decimal("0.8"):
                    done = commitment.deadline - dt.timedelta(days=rng.randint(0, 20))
                else:
                    continue  # not done: the status shows it
            else:
                continue
        elif commitment.measure == "growth":
            noise = Decimal(str(round(rng.uniform(-0.6, 0.6), 1)))
            value = _q(commitment.value * factor + noise, commitment.unit)
        else:
            expected = pace.expected_value(target, period)
            value = _q(
                expected * factor * Decimal(str(round(rng.uniform(0.97, 1.03), 3))), commitment.unit
            )
        status = ProgressReport.Status.APPROVED
        reviewed = _stamp(filed + dt.timedelta(days=rng.randint(0, 2)), 16)
        if last and rng.random() < 0.12 and reviewed.date() > as_of - dt.timedelta(days=10):
            status, reviewed = ProgressReport.Status.SUBMITTED, None  # awaiting the office
        result.append(
            ProgressReport(
                commitment=commitment,
                department_id=commitment.lead_department_id,
                period_end=period,
                version=1,
                status=status,
                channel="web",
                value=value,
                done_date=done,
                work_done=f"{commitment.indicator}：按计划推进，累计完成情况见报表。",
                problems="" if factor >= 1 else "受疫情和要素保障影响，进度有所滞后。",
                next_steps="继续加强调度，确保完成全年目标。",
                created_at=_stamp(filed, 9),
                submitted_at=_stamp(filed, 10),
                reviewed_at=reviewed,
            )
        )
        if done is not None:
            break  # a milestone is reported done once
    return result

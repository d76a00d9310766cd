"""Plan overview at scale: 5,000 commitments with 12 months of approved reports.

Prints the server time of the overview page (the status of every commitment, pace,
forecast, rendered), of the status selector alone, and the query count, on the database
configured by DATABASE_URL (a temporary SQLite file by default).

    .venv/bin/python bench/plan_overview.py [--commitments 5000] [--runs 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DUBAN_DEBUG", "1")
os.environ.setdefault("DUBAN_ALLOWED_HOSTS", "testserver")
if "DATABASE_URL" not in os.environ:
    os.environ["DUBAN_VAR_DIR"] = tempfile.mkdtemp(prefix="duban-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from duban import clock  # noqa: E402
from duban.accounts.models import Department, User  # noqa: E402
from duban.plans import freshness, pace, selectors  # noqa: E402
from duban.plans.models import Commitment, Plan, ProgressReport  # noqa: E402
from duban.plans.selectors import plan_status  # noqa: E402

AS_OF = dt.date(2022, 12, 31)


def build(n: int) -> Plan:
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    Plan.objects.filter(year=2022).delete() if not Commitment.objects.exists() else None
    departments = [
        Department.objects.get_or_create(code=f"d{i}", defaults={"name": f"单位{i}"})[0]
        for i in range(40)
    ]
    if not User.objects.filter(username="bench").exists():
        user = User(username="bench", role="planner")
        user.set_password("x")
        user.save()
    plan, _ = Plan.objects.get_or_create(year=2022, defaults={"title": "bench"})
    if plan.commitments.count() >= n:
        return plan
    now = clock.wall_now()
    measures = ["level", "level", "level", "growth", "share", "milestone"]
    commitments = [
        Commitment(
            plan=plan,
            key=f"k{i}",
            section=f"第{i % 20}部分",
            indicator=f"指标{i}",
            text=f"指标{i}达到{1000 + i}",
            measure=measures[i % len(measures)],
            comparator=None
            if measures[i % len(measures)] == "milestone"
            else ["eq", "ge", "gt", "le", "between"][i % 5],
            value=None if measures[i % len(measures)] == "milestone" else Decimal(1000 + i),
            upper=Decimal(2000 + i)
            if i % 5 == 4 and measures[i % len(measures)] != "milestone"
            else None,
            unit=None if measures[i % len(measures)] == "milestone" else "个",
            deadline=dt.date(2022, 6 + i % 7, 28),
            lead_department=departments[i % 40],
            created_at=now,
        )
        for i in range(n)
    ]
    Commitment.objects.bulk_create(commitments, batch_size=1000)
    reports = []
    for c in plan.commitments.all():
        for period in pace.periods(2022, "monthly"):
            at = dt.datetime.combine(period + dt.timedelta(days=3), dt.time(10), tzinfo=dt.UTC)
            reports.append(
                ProgressReport(
                    commitment=c,
                    department_id=c.lead_department_id,
                    period_end=period,
                    status="approved",
                    value=None if c.measure == "milestone" else Decimal(period.month * 90),
                    done_date=period if c.measure == "milestone" and period.month == 12 else None,
                    created_at=at,
                    submitted_at=at,
                    reviewed_at=at,
                )
            )
    ProgressReport.objects.bulk_create(reports, batch_size=2000)
    return plan


def timed(fn, runs: int, before=None) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time of this process: with SQLite the
    database works in-process, so CPU time is the server time whatever else the shared
    machine is doing."""
    fn()  # warm
    samples, cpu = [], []
    for _ in range(runs):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(samples), min(samples), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commitments", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    plan = build(args.commitments)
    print(
        f"database: {connection.vendor}; {plan.commitments.count()} commitments, "
        f"{ProgressReport.objects.filter(commitment__plan=plan).count()} reports "
        f"(built in {time.perf_counter() - started:.1f}s)"
    )
    client = Client()
    client.force_login(User.objects.get(username="bench"))

    def page():
        response = client.get(f"/plans/?year=2022&as_of={AS_OF}")
        assert response.status_code == 200, response.status_code
        return response

    with CaptureQueriesContext(connection) as ctx:
        size = len(page().content)
    # Counted now: the query log is a bounded deque, so later requests shift its indexes.
    queries = len(ctx.captured_queries)
    median, best, cpu = timed(page, args.runs)
    print(
        f"overview page (status remembered): median {median:.0f} ms, best {best:.0f} ms, "
        f"CPU {cpu:.0f} ms, "
        f"{queries} queries, "
        f"{size / 1e6:.1f} MB of HTML"
    )
    # The latest approved reports as of AS_OF (December's are approved in January): a
    # revision of one of them changes its commitment's row, so one row is recomputed.
    revised = iter(
        ProgressReport.objects.filter(
            commitment__plan=plan, value__isnull=False, period_end=dt.date(2022, 11, 30)
        )
    )

    def report_revised():
        # What happens all day: one report's figure changes (a revision approved). The
        # save renews the plans' stamp, so the next view computes the status again.
        report = next(revised)
        report.value += 1
        report.save(update_fields=["value"])

    def another_day():
        # The first view of a day (or a leader's look back at one): this worker converted
        # the plan's rows before, but has not assessed them for this day.
        freshness._remembered.clear()
        selectors._assessed.clear()

    def forget_everything():
        # A worker that has not seen the plan on this day: nothing remembered or memoised.
        freshness._remembered.clear()
        selectors.memo_clear()

    for label, before in (
        ("first view after a report is revised", report_revised),
        ("first view of another day", another_day),
        ("first view in a worker that remembers nothing", forget_everything),
    ):
        median, best, cpu = timed(page, args.runs, before=before)
        print(
            f"overview page, {label}: median {median:.0f} ms, best {best:.0f} ms, CPU {cpu:.0f} ms"
        )
        median, best, cpu = timed(lambda: plan_status(plan, as_of=AS_OF), args.runs, before=before)
        print(
            f"  status selector alone: median {median:.0f} ms, best {best:.0f} ms, CPU {cpu:.0f} ms"
        )
    department = Department.objects.get(code="d1")
    median, best, cpu = timed(
        lambda: client.get(f"/plans/?year=2022&department={department.pk}"), args.runs
    )
    print(
        f"overview filtered to one department: median {median:.0f} ms, best {best:.0f} ms, "
        f"CPU {cpu:.0f} ms"
    )


if __name__ == "__main__":
    main()

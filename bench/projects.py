"""Pipeline pages and metrics at scale: 10,000 projects with 12 monthly reports each.

    python bench/projects.py [--projects 10000] [--months 12] [--runs 10]

Builds the pipeline in a throw-away SQLite database under a temporary directory, or in the
database of DATABASE_URL (which must be a scratch database: the bench refuses one that holds
other projects), then times, warm, the server time of the overview and list pages (Django's
test client: middleware, view, queries and templates; no network) and each metric. The
target is under 300 ms per page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2022, 12, 31)
PREFIX = "BENCH-"


def setup_django(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
    os.environ["DUBAN_DEBUG"] = "1"
    os.environ["DUBAN_VAR_DIR"] = var_dir
    os.environ["DUBAN_AS_OF"] = AS_OF.isoformat()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


def build(n_projects: int, months: int) -> tuple[float, object]:
    from django.db import transaction
    from django.utils import timezone

    from duban.accounts.models import Department, User
    from duban.projects.models import ApprovalStep, MonthlyReport, Project

    if Project.objects.exclude(code__startswith=PREFIX).exists():
        sys.exit("bench/projects.py: error: the database holds other projects; use a scratch one")
    Project.objects.filter(code__startswith=PREFIX).delete()
    rng = random.Random(10000)
    now = timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        departments = [
            Department.objects.get_or_create(code=f"bench-{i}", defaults={"name": f"基准单位{i}"})[
                0
            ]
            for i in range(14)
        ]
        planner = User.objects.filter(username="bench-planner").first()
        if planner is None:
            planner = User.objects.create_user("bench-planner", role="planner")
        types = ["new", "continuing", "preparatory", "completing"]
        sectors = ["industry", "technology", "finance", "commerce", "infrastructure", "urban"]
        projects = []
        for i in range(n_projects):
            kind = rng.choices(types, weights=[34, 44, 15, 7])[0]
            start_planned = dt.date(2022, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
            start_actual = None
            if kind in ("continuing", "completing"):
                start_planned = dt.date(2020, 3, 1) + dt.timedelta(days=rng.randint(0, 500))
                start_actual = start_planned + dt.timedelta(days=rng.randint(0, 30))
            elif rng.random() < 0.85:
                start_actual = min(AS_OF, start_planned + dt.timedelta(days=rng.randint(-5, 40)))
            main_actual = None
            if start_actual and rng.random() < 0.7:
                candidate = start_actual + dt.timedelta(days=rng.randint(30, 120))
                main_actual = candidate if candidate <= AS_OF else None
            total = Decimal(rng.randint(2000, 800000)) * 10000
            projects.append(
                Project(
                    plan_year=2022,
                    code=f"{PREFIX}{i:05}",
                    name=f"基准项目{i}",
                    sector=rng.choice(sectors),
                    project_type=kind,
                    lead_department=rng.choice(departments),
                    total_investment=total,
                    annual_investment=(total * Decimal("0.25")).quantize(Decimal("1")),
                    start_planned=start_planned,
                    start_actual=start_actual,
                    main_planned=start_planned + dt.timedelta(days=90),
                    main_actual=main_actual,
                    topped_planned=start_planned + dt.timedelta(days=400),
                    created_at=now,
                    updated_at=now,
                )
            )
        Project.objects.bulk_create(projects, batch_size=2000)
        steps, reports = [], []
        for p in projects:
            start = p.start_actual or p.start_planned
            steps.append(
                ApprovalStep(
                    project=p,
                    kind="land",
                    planned_date=start - dt.timedelta(days=60),
                    actual_date=start - dt.timedelta(days=rng.randint(5, 150)),
                )
            )
            cumulative = Decimal(0)
            for month in range(1, months + 1):
                amount = (p.annual_investment / 12 * Decimal(rng.uniform(0.6, 1.3))).quantize(
                    Decimal("1")
                )
                cumulative += amount
                period = dt.date(2022, month, 28)
                period = (period + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
                reports.append(
                    MonthlyReport(
                        project=p,
                        period_end=period,
                        status="approved" if rng.random() < 0.95 else "submitted",
                        month_investment=amount,
                        cumulative_investment=cumulative,
                        created_at=now,
                    )
                )
        ApprovalStep.objects.bulk_create(steps, batch_size=5000)
        MonthlyReport.objects.bulk_create(reports, batch_size=5000)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.monotonic() - started, planner


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/projects.py")
    ap.add_argument("--projects", type=int, default=10000)
    ap.add_argument("--months", type=int, default=12, choices=range(1, 13), metavar="1..12")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument(
        "--queries", action="store_true", help="also list the overview's queries by time"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as var_dir:
        setup_django(var_dir)
        from django.db import connection
        from django.test import Client

        from duban.projects import selectors
        from duban.projects.metrics import METRICS

        seconds, planner = build(args.projects, args.months)
        print(
            f"{connection.vendor}: built {args.projects} projects × {args.months} reports "
            f"in {seconds:.1f}s; as of {AS_OF}"
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(planner)

        def page(url, **query):
            def run():
                response = client.get(url, query)
                assert response.status_code == 200, (url, response.status_code)

            return run

        last_id = (
            __import__("duban.projects.models", fromlist=["Project"])
            .Project.objects.order_by("id")
            .values_list("id", flat=True)[args.projects // 2]
        )
        cases = [
            ("page  overview /projects/", page("/projects/")),
            ("page  list, first 50", page("/projects/list/")),
            ("page  list, page in the middle (keyset)", page("/projects/list/", after=last_id)),
            ("page  list, stage=main", page("/projects/list/", stage="main")),
            ("page  list, late only", page("/projects/list/", late="on")),
            ("page  list, search", page("/projects/list/", q="基准项目77")),
            ("page  late projects", page("/projects/late/")),
        ]
        for key, metric in METRICS.items():
            cases.append((f"metric {key}", lambda metric=metric: metric(2022, AS_OF)))
        cases += [
            ("query funnel", lambda: selectors.funnel(2022, AS_OF)),
            ("query by_stage", lambda: selectors.by_stage(2022, AS_OF)),
            ("query by_department", lambda: selectors.by_department(2022, AS_OF)),
            ("query land_to_start", lambda: selectors.land_to_start(2022, AS_OF)),
            ("query investment_curve", lambda: selectors.investment_curve(2022, AS_OF)),
            ("query late_projects count", lambda: selectors.late_projects(2022, AS_OF).count()),
        ]
        print(f"{'':48} {'median ms':>10} {'max ms':>8}   ({args.runs} warm runs)")
        for label, fn in cases:
            median, worst = timed(fn, args.runs)
            print(f"{label:48} {median:10.1f} {worst:8.1f}")
        if args.queries:
            from django.db import reset_queries

            reset_queries()
            client.get("/projects/")
            print("\noverview queries, slowest first:")
            for q in sorted(connection.queries, key=lambda q: -float(q["time"]))[:8]:
                print(f"{float(q['time']) * 1000:8.1f} ms  {q['sql'][:150]}")
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(client.get, "/projects/")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

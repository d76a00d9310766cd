"""The leader's cockpit (领导驾驶舱) as the data grows.

    .venv/bin/python bench/cockpit.py [--runs 9] [--steps 10000:848,100000:848,1000000:10000]

Builds the demo (departments, the fixture plan with its year of reports, the pipeline of
848 projects) with 10,000 cases in a throw-away SQLite database (or the scratch database
of DATABASE_URL), then grows it step by step — more cases received in the same year
(bench/cases_scale.py: bulk INSERTs, then the daily roll-up rebuilt once, as an operator
would after a bulk load) and more projects (copies of the demo's, with their reports and
approvals) — and at each step times, warm, the server time of the cockpit page at
2022-09-30 as a leader sees it (Django's test client: middleware, view, every query and
the templates; no network), with the time of each part. It prints the time at every step
and the ratio of the last step to the first: the goal is under 200 ms at demo scale and
at most 1.5× from 10,000 cases and 848 projects to 1,000,000 cases and 10,000 projects.

CPU time is printed beside wall time: with SQLite the database works inside this process,
so CPU time is the server's work whatever else the shared machine is doing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

AS_OF = dt.date(2022, 9, 30)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
    os.environ["DUBAN_DEBUG"] = "1"
    os.environ.setdefault("DUBAN_ALLOWED_HOSTS", "testserver")
    if "DATABASE_URL" not in os.environ:
        os.environ["DUBAN_VAR_DIR"] = tempfile.mkdtemp(prefix="duban-bench-cockpit-")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


def build_demo(cases: int) -> None:
    from duban.demo import build_demo as build
    from duban.plans.models import Plan

    if Plan.objects.exists():
        sys.exit("bench/cockpit.py: error: the database already holds a plan; use a scratch one")
    build(cases_total=cases)


def add_cases(n: int, seed: int) -> None:
    from cases_scale import build_cases

    from duban.cases import rollup

    build_cases(n, year=AS_OF.year, as_of=AS_OF, seed=seed, events="none")
    # The bulk load bypasses the services that keep the roll-up; rebuild it once.
    rollup.rebuild()


def _copy(instance, **changes):
    """An unsaved copy of a model instance with some fields changed."""
    model = type(instance)
    fields = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields}
    del fields[model._meta.pk.attname]
    return model(**{**fields, **changes})


def add_projects(target: int) -> None:
    """Copies of the demo's projects, with their approvals and monthly reports, until the
    pipeline holds `target` projects."""
    from django.db import transaction

    from duban.projects.models import ApprovalStep, MonthlyReport, Project

    originals = list(Project.objects.order_by("id"))
    reports: dict[int, list[MonthlyReport]] = {}
    for report in MonthlyReport.objects.order_by("id"):
        reports.setdefault(report.project_id, []).append(report)
    approvals: dict[int, list[ApprovalStep]] = {}
    for step in ApprovalStep.objects.order_by("id"):
        approvals.setdefault(step.project_id, []).append(step)
    count = Project.objects.count()
    copy = 0
    with transaction.atomic():
        while count < target:
            copy += 1
            sources = originals[: target - count]
            clones = [_copy(project, code=f"{project.code}-C{copy}") for project in sources]
            # bulk_create sets the primary keys on SQLite and PostgreSQL (RETURNING).
            Project.objects.bulk_create(clones, batch_size=2000)
            new_reports, new_steps = [], []
            for project, clone in zip(sources, clones, strict=True):
                new_reports += [
                    _copy(report, project_id=clone.pk) for report in reports.get(project.pk, [])
                ]
                new_steps += [
                    _copy(step, project_id=clone.pk) for step in approvals.get(project.pk, [])
                ]
            MonthlyReport.objects.bulk_create(new_reports, batch_size=5000)
            ApprovalStep.objects.bulk_create(new_steps, batch_size=5000)
            count += len(sources)


def timed(fn, runs: int) -> dict:
    fn()  # warm
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return {"median": statistics.median(wall), "best": min(wall), "cpu": statistics.median(cpu)}


def measure(runs: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from duban import clock
    from duban.accounts.models import User
    from duban.cockpit import evaluation, selectors
    from duban.plans.models import Plan
    from duban.plans.selectors import plan_status

    plan = Plan.objects.get(year=AS_OF.year)
    client = Client()
    client.force_login(User.objects.get(username="leader"))

    def page():
        response = client.get(f"/cockpit/?as_of={AS_OF}")
        assert response.status_code == 200, response.status_code
        return response

    page()  # the first view after a pipeline change computes and caches its aggregates
    with CaptureQueriesContext(connection) as ctx:
        page()
    queries = len(ctx.captured_queries)
    result = {"page": timed(page, runs), "queries": queries}
    with clock.as_of(AS_OF):
        status = plan_status(plan, as_of=AS_OF)
        result["plan status"] = timed(lambda: plan_status(plan, as_of=AS_OF), runs)
        result["projects panel"] = timed(lambda: selectors._projects(plan, AS_OF), runs)
        result["cases panel"] = timed(lambda: selectors._cases(plan, AS_OF), runs)
        result["ranking"] = timed(
            lambda: evaluation.scores_for(plan=plan, period_end=AS_OF, status=status), runs
        )
    return result


def counts() -> tuple[int, int]:
    from duban.cases.models import Case
    from duban.projects.models import Project

    return Case.objects.count(), Project.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--steps",
        default="10000:848,100000:848,1000000:10000",
        help="cases:projects at each step, growing (default %(default)s)",
    )
    args = parser.parse_args()
    try:
        steps = [tuple(int(x) for x in step.split(":")) for step in args.steps.split(",")]
    except ValueError:
        parser.error("--steps is a list of cases:projects, e.g. 10000:848,1000000:10000")
    if any(len(step) != 2 for step in steps) or steps != sorted(steps):
        parser.error("--steps is a growing list of cases:projects")
    setup_django()
    from django.db import connection

    started = time.perf_counter()
    build_demo(steps[0][0])
    print(f"database: {connection.vendor}; demo built in {time.perf_counter() - started:.0f} s")
    results = []
    for index, (n_cases, n_projects) in enumerate(steps):
        started = time.perf_counter()
        have_cases, have_projects = counts()
        if n_cases > have_cases:
            add_cases(n_cases - have_cases, seed=index + 1)
        if n_projects > have_projects:
            add_projects(n_projects)
        have_cases, have_projects = counts()
        grown = time.perf_counter() - started
        result = measure(args.runs)
        results.append((have_cases, have_projects, result))
        page = result["page"]
        print(
            f"\n{have_cases:,} cases, {have_projects:,} projects (grown in {grown:.0f} s): "
            f"cockpit page median {page['median']:.0f} ms, best {page['best']:.0f} ms, "
            f"CPU {page['cpu']:.0f} ms, {result['queries']} queries"
        )
        for part in ("plan status", "projects panel", "cases panel", "ranking"):
            t = result[part]
            print(f"  {part:15} median {t['median']:6.1f} ms, CPU {t['cpu']:6.1f} ms")
    first, last = results[0], results[-1]
    print(
        f"\nratio {last[0]:,} cases/{last[1]:,} projects to {first[0]:,}/{first[1]:,}: "
        f"page median {last[2]['page']['median'] / first[2]['page']['median']:.2f}×, "
        f"best {last[2]['page']['best'] / first[2]['page']['best']:.2f}×, "
        f"CPU {last[2]['page']['cpu'] / first[2]['page']['cpu']:.2f}× (goal ≤ 1.5×)"
    )


if __name__ == "__main__":
    main()

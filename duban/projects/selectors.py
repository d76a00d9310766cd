"""Reads of the project pipeline. Every portfolio figure is computed by the database
(aggregates, conditional counts, CASE expressions); Python only assembles the few rows
that come back (one per stage, sector, department or month)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from duban.accounts.models import Department
from duban.projects.models import (
    STAGE_ORDER,
    ApprovalKind,
    ApprovalStep,
    MonthlyReport,
    Problem,
    ProblemStatus,
    Project,
    ProjectType,
    ReportStatus,
    Sector,
    Stage,
)

ZERO = Decimal("0")
CENT = Decimal("0.01")
AMOUNT_FIELD = DecimalField(max_digits=20, decimal_places=2)
NEW_START_TARGET = Decimal("90")  # % of this year's new-start projects started by the end of Q3
PREPARATORY_TARGET = Decimal("50")  # % of preparatory projects started within the year


def percent(part, whole) -> Decimal:
    """part / whole as a percentage with two decimals; 0 when there is no whole."""
    part, whole = Decimal(part or 0), Decimal(whole or 0)
    if whole == 0:
        return Decimal("0.00")
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def year_bounds(plan_year: int) -> tuple[dt.date, dt.date]:
    return dt.date(plan_year, 1, 1), dt.date(plan_year, 12, 31)


def cutoff(plan_year: int, as_of: dt.date) -> dt.date:
    """What counts for a plan year as of a day: nothing after the year's end."""
    return min(as_of, year_bounds(plan_year)[1])


def q3_end(plan_year: int) -> dt.date:
    return dt.date(plan_year, 9, 30)


# --- expressions -----------------------------------------------------------------------


def stage_on(as_of: dt.date) -> Case:
    """The stage each project is in on a day: the last gate whose actual date has passed."""
    whens = [
        When(**{f"{stage}_actual__lte": as_of}, then=Value(stage))
        for stage in reversed(STAGE_ORDER[1:])
    ]
    return Case(*whens, default=Value(Stage.PREP.value), output_field=CharField())


def _not_reached(stage: str, as_of: dt.date) -> Q:
    return Q(**{f"{stage}_actual__isnull": True}) | Q(**{f"{stage}_actual__gt": as_of})


def next_gate_on(as_of: dt.date) -> tuple[Case, Case]:
    """(the next gate's stage, its planned date) on a day; empty once in operation."""
    gates = STAGE_ORDER[1:]
    stage = Case(
        *[When(_not_reached(s, as_of), then=Value(s)) for s in gates],
        default=Value(""),
        output_field=CharField(),
    )
    planned = Case(
        *[When(_not_reached(s, as_of), then=F(f"{s}_planned")) for s in gates],
        default=None,
        output_field=DateField(),
    )
    return stage, planned


def completed_in_year(plan_year: int, as_of: dt.date) -> Q:
    """The approved reports that count for a plan year as of a day (on MonthlyReport)."""
    start, _ = year_bounds(plan_year)
    return Q(
        status=ReportStatus.APPROVED,
        period_end__gte=start,
        period_end__lte=cutoff(plan_year, as_of),
    )


def completed_subquery(plan_year: int, as_of: dt.date) -> Coalesce:
    """Per project: investment completed this plan year as of a day (approved reports)."""
    reports = (
        MonthlyReport.objects.filter(completed_in_year(plan_year, as_of), project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(total=Sum("month_investment"))
        .values("total")
    )
    return Coalesce(
        Subquery(reports, output_field=AMOUNT_FIELD), Value(ZERO), output_field=AMOUNT_FIELD
    )


def scope(user) -> QuerySet[Project] | None:
    """The projects a user's figures cover: None (everything, no filter) for the office."""
    if user.sees_everything:
        return None
    return Project.objects.filter(lead_department_id=user.department_id or -1)


def visible_projects(user, plan_year: int | None = None) -> QuerySet[Project]:
    projects = Project.objects.all()
    if plan_year is not None:
        projects = projects.filter(plan_year=plan_year)
    if not user.sees_everything:
        projects = projects.filter(lead_department_id=user.department_id or -1)
    return projects


def plan_years() -> list[int]:
    return list(
        Project.objects.order_by("-plan_year").values_list("plan_year", flat=True).distinct()
    )


def default_year(today: dt.date) -> int | None:
    years = plan_years()
    if not years:
        return None
    return today.year if today.year in years else years[0]


# --- the headline metrics --------------------------------------------------------------


def start_counts(
    plan_year: int, as_of: dt.date, project_type: str, *, projects=None
) -> dict[str, int]:
    """How many projects of a type there are, how many started as of the day, and how
    many started on or before the end of Q3 (and as of the day)."""
    projects = Project.objects.all() if projects is None else projects
    by_q3 = min(cutoff(plan_year, as_of), q3_end(plan_year))
    return projects.filter(plan_year=plan_year, project_type=project_type).aggregate(
        total=Count("id"),
        started=Count("id", filter=Q(start_actual__lte=cutoff(plan_year, as_of))),
        started_by_q3=Count("id", filter=Q(start_actual__lte=by_q3)),
    )


def new_start_rate(plan_year: int, as_of: dt.date) -> Decimal:
    """% of this year's new-start projects (新开工) that have started as of the day."""
    counts = start_counts(plan_year, as_of, ProjectType.NEW)
    return percent(counts["started"], counts["total"])


def new_start_rate_by_q3(plan_year: int, as_of: dt.date) -> Decimal:
    """% of this year's new-start projects started on or before 09-30 (as of the day):
    what the 90%-by-Q3 target is judged on."""
    counts = start_counts(plan_year, as_of, ProjectType.NEW)
    return percent(counts["started_by_q3"], counts["total"])


def preparatory_start_rate(plan_year: int, as_of: dt.date) -> Decimal:
    """% of this year's preparatory projects (前期) that have started as of the day."""
    counts = start_counts(plan_year, as_of, ProjectType.PREPARATORY)
    return percent(counts["started"], counts["total"])


def _counting_reports(plan_year: int, as_of: dt.date, projects=None):
    """The approved reports that count. A report's month always lies in its project's plan
    year (the services enforce it), so the period range alone selects the year's reports:
    for the whole registry no join with the projects is needed."""
    reports = MonthlyReport.objects.filter(completed_in_year(plan_year, as_of)).order_by()
    if projects is not None:
        reports = reports.filter(project__in=projects)
    return reports


def investment_completed(plan_year: int, as_of: dt.date, *, projects=None) -> Decimal:
    """元 completed this plan year as of the day: the sum of approved monthly figures of
    months that have ended (period on or before the day) within the year."""
    total = _counting_reports(plan_year, as_of, projects).aggregate(s=Sum("month_investment"))
    return (total["s"] or ZERO).quantize(CENT)


def completed_by_month(plan_year: int, as_of: dt.date, *, projects=None) -> dict:
    """{month end: 元 completed in that month} (approved, months ended by the day)."""
    return dict(
        _counting_reports(plan_year, as_of, projects)
        .values_list("period_end")
        .annotate(s=Sum("month_investment"))
    )


def year_fraction(plan_year: int, as_of: dt.date) -> Decimal:
    """The linear pace (序时进度): the share of the year's days elapsed, as of the day."""
    start, end = year_bounds(plan_year)
    if as_of < start:
        return ZERO
    days = (end - start).days + 1
    return Decimal((cutoff(plan_year, as_of) - start).days + 1) / Decimal(days)


@dataclass
class InvestmentSummary:
    planned: Decimal  # this year's planned investment of every project
    completed: Decimal
    pace_expected: Decimal  # planned × share of the year elapsed
    share_of_plan: Decimal  # %
    share_of_pace: Decimal  # %
    pace: Decimal  # % of the year elapsed


def _planned(plan_year: int, projects=None) -> Decimal:
    projects = Project.objects.all() if projects is None else projects
    planned = projects.filter(plan_year=plan_year).aggregate(s=Sum("annual_investment"))["s"]
    return (planned or ZERO).quantize(CENT)


def investment_summary(
    plan_year: int, as_of: dt.date, *, projects=None, monthly: dict | None = None
) -> InvestmentSummary:
    """Plan, completed, and both against the plan and its linear pace. `monthly` (from
    completed_by_month) spares a second pass over the reports when the caller has it."""
    planned = _planned(plan_year, projects)
    if monthly is None:
        completed = investment_completed(plan_year, as_of, projects=projects)
    else:
        completed = sum(monthly.values(), ZERO).quantize(CENT)
    fraction = year_fraction(plan_year, as_of)
    expected = (planned * fraction).quantize(CENT)
    return InvestmentSummary(
        planned=planned,
        completed=completed,
        pace_expected=expected,
        share_of_plan=percent(completed, planned),
        share_of_pace=percent(completed, expected),
        pace=(fraction * 100).quantize(CENT),
    )


def investment_curve(
    plan_year: int, as_of: dt.date, *, projects=None, monthly: dict | None = None
) -> list[dict]:
    """Month by month: cumulative investment completed (approved, months ended by the day)
    against the plan spread linearly over the year."""
    planned = _planned(plan_year, projects)
    if monthly is None:
        monthly = completed_by_month(plan_year, as_of, projects=projects)
    start, end = year_bounds(plan_year)
    days = (end - start).days + 1
    rows, running = [], ZERO
    for month in range(1, 13):
        period = dt.date(plan_year, month, calendar.monthrange(plan_year, month)[1])
        elapsed = Decimal((period - start).days + 1) / Decimal(days)
        done = period <= cutoff(plan_year, as_of)
        running += monthly.get(period, ZERO) or ZERO
        rows.append(
            {
                "month": period,
                "planned": (planned * elapsed).quantize(CENT),
                "completed": running.quantize(CENT) if done else None,
            }
        )
    return rows


@dataclass
class LandToStart:
    projects: int
    average_days: Decimal | None
    shortest_days: int | None
    longest_days: int | None


def land_to_start(
    plan_year: int, as_of: dt.date, *, projects=None, extremes: bool = True
) -> LandToStart:
    """Days from the land approval (用地) to the construction start, over the projects of
    the year that had both as of the day (拿地即开工 shortens it). Without `extremes` only
    the average is computed (on SQLite each date difference is a Python call per row)."""
    steps = ApprovalStep.objects.filter(
        kind=ApprovalKind.LAND,
        actual_date__isnull=False,
        project__plan_year=plan_year,
        project__start_actual__lte=as_of,
        project__start_actual__gte=F("actual_date"),
    )
    if projects is not None:
        steps = steps.filter(project__in=projects)
    gap = ExpressionWrapper(
        F("project__start_actual") - F("actual_date"), output_field=DurationField()
    )
    aggregates = {"n": Count("id"), "avg": Avg(gap)}
    if extremes:
        aggregates.update(low=Min(gap), high=Max(gap))
    agg = steps.aggregate(**aggregates)
    if not agg["n"]:
        return LandToStart(0, None, None, None)

    def days(value) -> Decimal:
        return Decimal(value.total_seconds()) / Decimal(86400)

    return LandToStart(
        projects=agg["n"],
        average_days=days(agg["avg"]).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        shortest_days=int(days(agg["low"])) if extremes else None,
        longest_days=int(days(agg["high"])) if extremes else None,
    )


# --- breakdowns ------------------------------------------------------------------------


def funnel(plan_year: int, as_of: dt.date, *, projects=None) -> list[dict]:
    """How many projects have reached each gate as of the day (all are in the pipeline)."""
    projects = Project.objects.all() if projects is None else projects
    aggregates = {"prep": Count("id")}
    for stage in STAGE_ORDER[1:]:
        aggregates[stage] = Count("id", filter=Q(**{f"{stage}_actual__lte": as_of}))
    counts = projects.filter(plan_year=plan_year).aggregate(**aggregates)
    return [
        {"stage": stage, "label": Stage(stage).label, "reached": counts[stage]}
        for stage in STAGE_ORDER
    ]


def _breakdown(projects, plan_year: int, as_of: dt.date, key) -> list[dict]:
    return list(
        projects.filter(plan_year=plan_year)
        .annotate(group=key)
        .order_by()
        .values("group")
        .annotate(
            n=Count("id"),
            total=Sum("total_investment"),
            annual=Sum("annual_investment"),
            started=Count("id", filter=Q(start_actual__lte=as_of)),
        )
        .order_by("group")
    )


def by_stage(plan_year: int, as_of: dt.date, *, projects=None) -> list[dict]:
    projects = Project.objects.all() if projects is None else projects
    rows = {r["group"]: r for r in _breakdown(projects, plan_year, as_of, stage_on(as_of))}
    return [{"key": s, "label": Stage(s).label, **_zero_row(rows.get(s))} for s in STAGE_ORDER]


def by_sector(plan_year: int, as_of: dt.date, *, projects=None) -> list[dict]:
    projects = Project.objects.all() if projects is None else projects
    rows = _breakdown(projects, plan_year, as_of, F("sector"))
    labels = dict(Sector.choices)
    return [
        {"key": r["group"], "label": labels.get(r["group"], r["group"]), **_zero_row(r)}
        for r in rows
    ]


def by_type(plan_year: int, as_of: dt.date, *, projects=None) -> list[dict]:
    projects = Project.objects.all() if projects is None else projects
    rows = {r["group"]: r for r in _breakdown(projects, plan_year, as_of, F("project_type"))}
    return [
        {"key": t, "label": label, **_zero_row(rows.get(t))} for t, label in ProjectType.choices
    ]


def by_department(plan_year: int, as_of: dt.date, *, projects=None) -> list[dict]:
    scoped = projects
    projects = Project.objects.all() if projects is None else projects
    rows = _breakdown(projects, plan_year, as_of, F("lead_department"))
    completed = dict(
        _counting_reports(plan_year, as_of, None if scoped is None else projects)
        .values_list("project__lead_department")
        .annotate(s=Sum("month_investment"))
    )
    names = dict(
        Department.objects.filter(pk__in=[r["group"] for r in rows]).values_list("pk", "name")
    )
    result = []
    for r in rows:
        row = {"key": r["group"], "label": names.get(r["group"], ""), **_zero_row(r)}
        row["completed"] = completed.get(r["group"]) or ZERO
        row["share_of_plan"] = percent(row["completed"], row["annual"])
        result.append(row)
    return result


def _zero_row(row) -> dict:
    row = row or {}
    return {
        "n": row.get("n") or 0,
        "total": row.get("total") or ZERO,
        "annual": row.get("annual") or ZERO,
        "started": row.get("started") or 0,
    }


def late_projects(plan_year: int, as_of: dt.date, *, projects=None) -> QuerySet[Project]:
    """Projects whose next gate's planned date has passed without it being reached,
    the longest overdue first; each carries next_stage and next_planned."""
    projects = Project.objects.all() if projects is None else projects
    next_stage, next_planned = next_gate_on(as_of)
    return (
        projects.filter(plan_year=plan_year)
        .annotate(next_stage=next_stage, next_planned=next_planned)
        .filter(next_planned__lt=as_of)
        .select_related("lead_department")
        .order_by("next_planned", "id")
    )


# --- problems --------------------------------------------------------------------------


def visible_problems(user) -> QuerySet[Problem]:
    problems = Problem.objects.select_related("project", "assigned_department")
    if not user.sees_everything:
        own = user.department_id or -1
        problems = problems.filter(
            Q(assigned_department_id=own) | Q(project__lead_department_id=own)
        )
    return problems


def open_problems(as_of: dt.date, *, problems=None) -> QuerySet[Problem]:
    problems = Problem.objects.all() if problems is None else problems
    return (
        problems.filter(raised_on__lte=as_of)
        .exclude(status=ProblemStatus.CLOSED)
        .select_related("project", "assigned_department")
        .order_by("deadline", "id")
    )


def problem_counts_by_department(as_of: dt.date) -> list[dict]:
    """For each assigned department: problems open, overdue, resolved on time and late —
    what counts in its evaluation."""
    on_time = Q(resolved_on__isnull=False, resolved_on__lte=F("deadline"))
    rows = (
        Problem.objects.filter(raised_on__lte=as_of)
        .order_by()
        .values("assigned_department", "assigned_department__name")
        .annotate(
            raised=Count("id"),
            open=Count("id", filter=~Q(status=ProblemStatus.CLOSED)),
            overdue=Count("id", filter=Q(status=ProblemStatus.OPEN, deadline__lt=as_of)),
            resolved_on_time=Count("id", filter=on_time),
            resolved_late=Count(
                "id", filter=Q(resolved_on__isnull=False, resolved_on__gt=F("deadline"))
            ),
        )
        .order_by("assigned_department__name")
    )
    return list(rows)


# --- the list and the detail -----------------------------------------------------------


@dataclass
class ListFilters:
    plan_year: int
    project_type: str = ""
    sector: str = ""
    stage: str = ""
    department: int | None = None
    q: str = ""
    late: bool = False


def project_page(
    projects: QuerySet[Project],
    filters: ListFilters,
    as_of: dt.date,
    *,
    after: int | None = None,
    size: int = 50,
) -> tuple[list[Project], int | None, int]:
    """One page of the filtered list, by keyset on id: (rows, id to continue after, total)."""
    qs = projects.filter(plan_year=filters.plan_year)
    if filters.project_type:
        qs = qs.filter(project_type=filters.project_type)
    if filters.sector:
        qs = qs.filter(sector=filters.sector)
    if filters.department:
        qs = qs.filter(lead_department_id=filters.department)
    if filters.q:
        qs = qs.filter(Q(code__icontains=filters.q) | Q(name__icontains=filters.q))
    if filters.stage:
        qs = qs.alias(stage_now=stage_on(as_of)).filter(stage_now=filters.stage)
    if filters.late:
        _, next_planned = next_gate_on(as_of)
        qs = qs.alias(next_planned_on=next_planned).filter(next_planned_on__lt=as_of)
    total = qs.count()
    if after is not None:
        qs = qs.filter(id__gt=after)
    next_stage, next_planned = next_gate_on(as_of)
    rows = list(
        qs.select_related("lead_department")
        .annotate(
            stage_now=stage_on(as_of),
            next_stage=next_stage,
            next_planned=next_planned,
            completed=completed_subquery(filters.plan_year, as_of),
        )
        .order_by("id")[: size + 1]
    )
    more = rows[size].pk if len(rows) > size else None
    rows = rows[:size]
    return rows, (rows[-1].pk if more is not None else None), total


def project_timeline(project: Project, as_of: dt.date) -> list[dict]:
    """Gates and approval steps of a project in date order (planned, actual, late, days
    early or late), for its detail page; the monthly reports are listed beside it."""
    events = []
    for stage in STAGE_ORDER:
        planned, actual = project.planned(stage), project.actual(stage)
        if planned is None and actual is None:
            continue
        reached = actual is not None and actual <= as_of
        events.append(
            {
                "kind": "gate",
                "label": Stage(stage).label,
                "date": actual if reached else planned,
                "planned": planned,
                "actual": actual if reached else None,
                "late": not reached and planned is not None and planned < as_of,
                "slip": (actual - planned).days if reached and planned else None,
            }
        )
        events[-1]["early"] = -(events[-1]["slip"] or 0)
    for step in project.approvals.all():
        reached = step.actual_date is not None and step.actual_date <= as_of
        date = step.actual_date if reached else step.planned_date
        if date is None:
            continue
        events.append(
            {
                "kind": "approval",
                "label": step.get_kind_display(),
                "date": date,
                "planned": step.planned_date,
                "actual": step.actual_date if reached else None,
                "late": not reached and step.planned_date is not None and step.planned_date < as_of,
                "slip": (step.actual_date - step.planned_date).days
                if reached and step.planned_date
                else None,
            }
        )
        events[-1]["early"] = -(events[-1]["slip"] or 0)
    events.sort(key=lambda e: (e["date"], e["kind"] != "approval"))
    return events


def project_reports(project: Project):
    return (
        project.reports.select_related("created_by", "reviewed_by")
        .prefetch_related("photos")
        .order_by("-period_end", "-version")
    )


def project_completed(project: Project, as_of: dt.date) -> Decimal:
    return investment_completed(
        project.plan_year, as_of, projects=Project.objects.filter(pk=project.pk)
    )


def reports_to_review(user) -> QuerySet[MonthlyReport]:
    reports = MonthlyReport.objects.filter(status=ReportStatus.SUBMITTED).select_related(
        "project", "project__lead_department"
    )
    if not user.sees_everything:
        reports = reports.filter(project__lead_department_id=user.department_id or -1)
    return reports.order_by("submitted_at", "id")

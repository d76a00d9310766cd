"""效能考评: department scores from the same facts the cockpit shows, every point traceable.

A department's score is the weighted mean of up to three parts, each 0-100:
- commitments it leads: green 100, yellow 60, red 20 points each (grey is not yet judged);
- projects it leads: the share not late for their next gate;
- cases it handles: the case module's composite KPI (响应率, 解决率, 满意率, 按时办结率);
minus deductions per overdue report, unanswered supervision notice, overdue case,
returned case, and project problem (需协调解决的问题) assigned to it and past its deadline. A part with nothing to judge is left out and the weights of the others
count in full."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from duban import clock
from duban.accounts.models import Department
from duban.audit.services import audit_record, snapshot
from duban.cockpit.models import EvaluationScheme
from duban.plans import pace
from duban.plans.models import Plan, SupervisionNotice
from duban.plans.selectors import PlanStatus, plan_status

STATUS_POINTS = {pace.GREEN: Decimal(100), pace.YELLOW: Decimal(60), pace.RED: Decimal(20)}
TWO = Decimal("0.01")


@dataclass
class ScoreItem:
    part: str  # commitments | projects | cases | deduction
    label: str
    points: Decimal | None
    url: str = ""


@dataclass
class DepartmentScore:
    department: Department
    commitments: Decimal | None = None
    projects: Decimal | None = None
    cases: Decimal | None = None
    deductions: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    rank: int = 0
    previous_rank: int | None = None
    items: list[ScoreItem] = field(default_factory=list)

    @property
    def movement(self) -> int | None:
        """Places gained since the previous period (positive is up)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


def scheme_current() -> EvaluationScheme:
    scheme = EvaluationScheme.objects.order_by("-version").first()
    if scheme is None:
        scheme = EvaluationScheme.objects.create(
            version=1, created_at=clock.wall_now(), note="default"
        )
    return scheme


def scheme_update(*, actor, **values) -> EvaluationScheme:
    """A new version of the scheme; the old ones stay as they were."""
    from django.core.exceptions import PermissionDenied, ValidationError

    if not actor.is_planner:
        raise PermissionDenied(_("Only the supervision office sets the evaluation scheme."))
    current = scheme_current()
    scheme = EvaluationScheme(
        **{
            f.name: getattr(current, f.name)
            for f in EvaluationScheme._meta.fields
            if f.name not in ("id", "version", "created_by", "created_at")
        }
    )
    for name, value in values.items():
        setattr(scheme, name, value)
    if scheme.weight_commitments + scheme.weight_projects + scheme.weight_cases <= 0:
        raise ValidationError(_("At least one weight must be above zero."))
    scheme.full_clean(exclude=["version", "created_at"])
    with transaction.atomic():
        scheme.version = current.version + 1
        scheme.created_by = actor
        scheme.created_at = clock.wall_now()
        scheme.save()
        audit_record(
            actor=actor,
            action="evaluation_scheme.create",
            instance=scheme,
            before=snapshot(current),
            after=snapshot(scheme),
        )
    return scheme


def period_ends(year: int, kind: str, as_of: dt.date) -> list[dt.date]:
    cadence = "monthly" if kind == "month" else "quarterly"
    return [p for p in pace.periods(year, cadence) if p <= as_of]


def _period_start(period_end: dt.date, kind: str) -> dt.date:
    months = 1 if kind == "month" else 3
    month = period_end.month - months + 1
    return dt.date(period_end.year, month, 1)


def _q2(value: Decimal) -> Decimal:
    return value.quantize(TWO, rounding=ROUND_HALF_UP)


def _pipeline_counts(year: int, as_of: dt.date) -> dict:
    from duban.projects import selectors as project_selectors
    from duban.projects.models import Project

    def by_department(queryset, field="lead_department_id") -> dict:
        return dict(queryset.order_by().values_list(field).annotate(n=Count("id")))

    return {
        "totals": by_department(Project.objects.filter(plan_year=year)),
        "late": by_department(project_selectors.late_projects(year, as_of)),
        "problems_overdue": {
            row["assigned_department"]: row["overdue"]
            for row in project_selectors.problem_counts_by_department(as_of)
        },
    }


def _projects_part(
    plan: Plan, as_of: dt.date, scheme, scores: dict[int, DepartmentScore], with_items: bool
) -> None:
    try:
        from duban.projects import selectors as project_selectors
        from duban.projects.freshness import cached
    except ImportError:  # the project module is optional
        return
    # Cached under the pipeline's version, like the cockpit's pipeline panel.
    counts = cached(
        "evaluation", plan.year, as_of, compute=lambda: _pipeline_counts(plan.year, as_of)
    )
    for department_id, total in counts["totals"].items():
        score = scores.get(department_id)
        if score is None or not total:
            continue
        n_late = counts["late"].get(department_id, 0)
        score.projects = _q2(Decimal(100) * (total - n_late) / total)
        score.items.append(
            ScoreItem(
                "projects",
                _("%(late)s of %(total)s projects late for their next gate")
                % {"late": n_late, "total": total},
                score.projects,
                reverse("projects:late"),
            )
        )
        if with_items:
            late_qs = project_selectors.late_projects(plan.year, as_of)
            for project in late_qs.filter(lead_department_id=department_id)[:50]:
                score.items.append(
                    ScoreItem(
                        "projects",
                        _("late: %(name)s") % {"name": project.name},
                        None,
                        reverse("projects:detail", args=[project.pk]),
                    )
                )
    if not scheme.deduct_overdue_problem:
        return
    # A problem is the department it is assigned to's to solve, whoever leads the project.
    for department_id, overdue in counts["problems_overdue"].items():
        score = scores.get(department_id)
        if score is None or not overdue:
            continue
        points = _q2(scheme.deduct_overdue_problem * overdue)
        score.deductions += points
        score.items.append(
            ScoreItem(
                "deduction",
                _("%(n)s project problems past their deadline") % {"n": overdue},
                -points,
                reverse("projects:problems"),
            )
        )


def _cases_part(
    plan: Plan,
    kind: str,
    period_end: dt.date,
    scheme,
    scores: dict[int, DepartmentScore],
    overdue: list[dict] | None = None,
) -> None:
    try:
        from duban.cases import rollup
        from duban.cases import selectors as case_selectors
    except ImportError:  # the case module is optional
        return
    by_name = {s.department.name: s for s in scores.values()}
    start = _period_start(period_end, kind)
    for row in rollup.kpis(group="department", start=start, end=period_end):
        score = by_name.get(row.key)
        if score is None:
            continue
        if row.score is not None:
            score.cases = _q2(Decimal(str(row.score)) * 100)
            score.items.append(
                ScoreItem(
                    "cases",
                    _("case KPI of %(n)s cases received %(start)s to %(end)s")
                    % {"n": row.total, "start": start, "end": period_end},
                    score.cases,
                    reverse("cases:kpi"),
                )
            )
        returned = round((row.return_rate or 0) * row.dispatched)
        if returned and scheme.deduct_returned_case:
            points = _q2(scheme.deduct_returned_case * returned)
            score.deductions += points
            score.items.append(
                ScoreItem(
                    "deduction",
                    _("%(n)s cases returned by the department") % {"n": returned},
                    -points,
                    reverse("cases:kpi"),
                )
            )
    if overdue is None:
        with clock.as_of(period_end):
            overdue = case_selectors.overdue_by_department()
    for row in overdue:
        score = scores.get(row["department__id"])
        if score is None or not scheme.deduct_overdue_case:
            continue
        points = _q2(scheme.deduct_overdue_case * row["n"])
        score.deductions += points
        score.items.append(
            ScoreItem(
                "deduction",
                _("%(n)s cases overdue") % {"n": row["n"]},
                -points,
                reverse("cases:queue") + "?scope=overdue",
            )
        )


def scores_for(
    *,
    plan: Plan,
    period_end: dt.date,
    kind: str = "month",
    scheme: EvaluationScheme | None = None,
    with_items: bool = False,
    status: PlanStatus | None = None,
    case_overdue: list[dict] | None = None,
) -> list[DepartmentScore]:
    """Every department's score for the period ending on `period_end`, ranked. The
    cockpit passes what it has already computed for that date: the plan status and the
    overdue cases by department."""
    scheme = scheme or scheme_current()
    departments = Department.objects.filter(is_supervision_office=False).order_by("code")
    scores = {d.pk: DepartmentScore(d) for d in departments}
    if status is None or status.as_of != period_end or status.plan.pk != plan.pk:
        status = plan_status(plan, as_of=period_end)
    points: dict[int, list[Decimal]] = {}
    for row in status.rows:
        c = row.commitment
        score = scores.get(c.lead_department_id)
        if score is None:
            continue
        url = reverse("plans:commitment", args=[c.pk])
        if row.status in STATUS_POINTS:
            points.setdefault(c.lead_department_id, []).append(STATUS_POINTS[row.status])
            if with_items:
                score.items.append(
                    ScoreItem(
                        "commitments",
                        f"{c.indicator} · {row.reason_text}",
                        STATUS_POINTS[row.status],
                        url,
                    )
                )
        if row.overdue_period is not None and scheme.deduct_overdue_report:
            score.deductions += scheme.deduct_overdue_report
            score.items.append(
                ScoreItem(
                    "deduction",
                    _("report on %(indicator)s for %(period)s overdue")
                    % {"indicator": c.indicator, "period": row.overdue_period},
                    -scheme.deduct_overdue_report,
                    url,
                )
            )
    for department_id, values in points.items():
        scores[department_id].commitments = _q2(sum(values) / len(values))
    cutoff = dt.datetime.combine(period_end, dt.time.max, tzinfo=timezone.get_default_timezone())
    unanswered = (
        SupervisionNotice.objects.filter(
            commitment__plan=plan,
            issued_at__lte=cutoff,
            reply_deadline__lt=period_end,
        )
        .filter(Q(replied_at__isnull=True) | Q(replied_at__gt=cutoff))
        .select_related("commitment")
    )
    for notice in unanswered:
        score = scores.get(notice.department_id)
        if score is None or not scheme.deduct_unanswered_notice:
            continue
        score.deductions += scheme.deduct_unanswered_notice
        score.items.append(
            ScoreItem(
                "deduction",
                _("supervision notice %(number)s unanswered") % {"number": notice.number},
                -scheme.deduct_unanswered_notice,
                reverse("plans:notice", args=[notice.pk]),
            )
        )
    _projects_part(plan, period_end, scheme, scores, with_items)
    _cases_part(plan, kind, period_end, scheme, scores, case_overdue)
    weights = {
        "commitments": scheme.weight_commitments,
        "projects": scheme.weight_projects,
        "cases": scheme.weight_cases,
    }
    for score in scores.values():
        parts = {
            name: getattr(score, name)
            for name in weights
            if getattr(score, name) is not None and weights[name] > 0
        }
        total_weight = sum((weights[name] for name in parts), Decimal(0))
        base = (
            sum((parts[name] * weights[name] for name in parts), Decimal(0)) / total_weight
            if total_weight
            else Decimal(0)
        )
        score.deductions = _q2(score.deductions)
        score.total = max(Decimal(0), _q2(base - score.deductions))
    ranked = sorted(scores.values(), key=lambda s: (-s.total, s.department.code))
    for index, score in enumerate(ranked, start=1):
        score.rank = index
    return ranked


def scores_with_movement(
    *, plan: Plan, period_end: dt.date, kind: str = "month", with_items: bool = False
) -> list[DepartmentScore]:
    scheme = scheme_current()
    current = scores_for(
        plan=plan, period_end=period_end, kind=kind, scheme=scheme, with_items=with_items
    )
    earlier = [p for p in period_ends(plan.year, kind, period_end) if p < period_end]
    if earlier:
        previous = {
            s.department.pk: s.rank
            for s in scores_for(plan=plan, period_end=earlier[-1], kind=kind, scheme=scheme)
        }
        for score in current:
            score.previous_rank = previous.get(score.department.pk)
    return current

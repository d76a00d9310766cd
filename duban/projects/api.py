"""Projects API: the portfolio metrics as of a date, and the registry page by page.
Read by signed-in users of the web UI (the session); reporters see their department's
projects only, and the portfolio metrics are for the office (planners, leaders, admins)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Router, Schema
from ninja.errors import HttpError

from duban import clock
from duban.projects import selectors
from duban.projects.metrics import METRICS, UNITS

router = Router(tags=["projects"])
CENT = Decimal("0.01")


class SessionUser:
    def __call__(self, request):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class MetricOut(Schema):
    key: str
    value: Decimal
    unit: str


class MetricsOut(Schema):
    year: int
    as_of: dt.date
    metrics: list[MetricOut]
    new_start_total: int
    new_start_started: int
    new_start_started_by_q3: int
    preparatory_total: int
    preparatory_started: int
    planned_investment: Decimal
    land_to_start_average_days: Decimal | None
    late_projects: int


class ProjectOut(Schema):
    id: int
    code: str
    name: str
    plan_year: int
    project_type: str
    sector: str
    lead_department: str
    total_investment: Decimal
    annual_investment: Decimal
    stage: str
    next_stage: str
    next_planned: dt.date | None
    completed_this_year: Decimal


class ProjectPageOut(Schema):
    total: int
    next_after: int | None
    items: list[ProjectOut]


def _as_of(as_of: dt.date | None) -> dt.date:
    day = as_of or clock.today()
    if not 2000 <= day.year <= 2100:
        raise HttpError(400, "as_of must be between 2000 and 2100")
    return day


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise HttpError(400, "year must be between 2000 and 2100")


@router.get("/metrics", response=MetricsOut, auth=SessionUser())
def metrics(request, year: int, as_of: dt.date | None = None):
    """Every metric of `duban.projects.metrics.METRICS` for a plan year as of a day
    (default today), with the counts behind the rates."""
    if not request.auth.sees_everything:
        raise HttpError(403, "portfolio metrics are for planners and leaders")
    _check_year(year)
    day = _as_of(as_of)
    new = selectors.start_counts(year, day, "new")
    prep = selectors.start_counts(year, day, "preparatory")
    return {
        "year": year,
        "as_of": day,
        "metrics": [
            {"key": key, "value": function(year, day), "unit": UNITS[key]}
            for key, function in METRICS.items()
        ],
        "new_start_total": new["total"],
        "new_start_started": new["started"],
        "new_start_started_by_q3": new["started_by_q3"],
        "preparatory_total": prep["total"],
        "preparatory_started": prep["started"],
        "planned_investment": selectors.investment_summary(year, day).planned,
        "land_to_start_average_days": selectors.land_to_start(
            year, day, extremes=False
        ).average_days,
        "late_projects": selectors.late_projects(year, day).count(),
    }


@router.get("/", response=ProjectPageOut, auth=SessionUser())
def projects(
    request,
    year: int,
    as_of: dt.date | None = None,
    after: int | None = None,
    limit: int = 100,
    project_type: str = "",
    stage: str = "",
):
    """The registry of a year, by keyset: pass `next_after` back as `after`."""
    _check_year(year)
    day = _as_of(as_of)
    if not 1 <= limit <= 500:
        raise HttpError(400, "limit must be between 1 and 500")
    if after is not None and after < 0:
        raise HttpError(400, "after must be a project id")
    if project_type and project_type not in ("new", "continuing", "preparatory", "completing"):
        raise HttpError(400, "project_type must be new, continuing, preparatory or completing")
    if stage and stage not in ("prep", "start", "main", "topped", "complete", "operate"):
        raise HttpError(400, "stage must be prep, start, main, topped, complete or operate")
    rows, next_after, total = selectors.project_page(
        selectors.visible_projects(request.auth),
        selectors.ListFilters(plan_year=year, project_type=project_type, stage=stage),
        day,
        after=after,
        size=limit,
    )
    return {
        "total": total,
        "next_after": next_after,
        "items": [
            {
                "id": p.pk,
                "code": p.code,
                "name": p.name,
                "plan_year": p.plan_year,
                "project_type": p.project_type,
                "sector": p.sector,
                "lead_department": p.lead_department.code,
                "total_investment": p.total_investment,
                "annual_investment": p.annual_investment,
                "stage": p.stage_now,
                "next_stage": p.next_stage,
                "next_planned": p.next_planned,
                "completed_this_year": Decimal(p.completed).quantize(CENT),
            }
            for p in rows
        ],
    }

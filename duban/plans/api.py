"""Plans API: commitments with their status as of a date, and progress reports filed by
another system (the statistics bureau's monthly figures) with an API key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.security import APIKeyHeader

from duban import clock
from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_for_key
from duban.plans import selectors, tracking
from duban.plans.models import Commitment, Plan, ProgressReport

router = Router(tags=["plans"])


class ProgressKey(APIKeyHeader):
    """`X-API-Key: <key>` of an API client with the progress scope."""

    param_name = "X-API-Key"

    def authenticate(self, request, key):
        return api_client_for_key(key, scope=ApiClient.Scope.PROGRESS)


class SessionUser:
    """Logged-in users of the web UI may read the API too."""

    def __call__(self, request):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class CommitmentOut(Schema):
    id: int
    section: str
    indicator: str
    measure: str
    comparator: str | None
    value: Decimal | None
    upper: Decimal | None
    unit: str | None
    deadline: dt.date | None
    lead_department: str | None
    status: str
    reason: str
    expected_fraction: float
    latest_value: Decimal | None
    latest_period: dt.date | None
    forecast: Decimal | None
    report_overdue_since: dt.date | None


class PlanStatusOut(Schema):
    year: int
    as_of: dt.date
    commitments: list[CommitmentOut]


class ProgressIn(Schema):
    commitment_id: int
    period_end: dt.date
    value: Decimal | None = Field(None, description="cumulative figure, YTD growth or current rate")
    done_date: dt.date | None = None
    work_done: str = Field("", max_length=4000)
    problems: str = Field("", max_length=4000)
    next_steps: str = Field("", max_length=4000)


class ProgressOut(Schema):
    id: int
    commitment_id: int
    period_end: dt.date
    version: int
    status: str


class Error(Schema):
    detail: str


@router.get(
    "/{year}/commitments",
    response={200: PlanStatusOut, 404: Error},
    auth=[SessionUser(), ProgressKey()],
)
def commitments(
    request,
    year: int,
    as_of: dt.date | None = None,
    department: str | None = None,
    status: str | None = None,
):
    """Every commitment of a plan with its status, pace and forecast as of a date
    (default today). A system key or a reporter sees its own department's commitments."""
    plan = Plan.objects.filter(year=year).first()
    if plan is None:
        raise HttpError(404, f"no plan for {year}")
    if status not in (None, "green", "yellow", "red", "grey", "overdue"):
        raise HttpError(400, "status must be green, yellow, red, grey or overdue")
    if as_of is not None and not (dt.date(2000, 1, 1) <= as_of <= dt.date(2100, 12, 31)):
        raise HttpError(400, "as_of must be between 2000 and 2100")
    caller = request.auth
    department_id = None
    if isinstance(caller, ApiClient):
        department_id = caller.department_id or -1
    elif not caller.sees_everything:
        department_id = caller.department_id or -1
    elif department:
        from duban.accounts.models import Department

        found = Department.objects.filter(code=department).first()
        if found is None:
            raise HttpError(400, f"unknown department code {department!r}")
        department_id = found.pk
    result = selectors.plan_status(
        plan, department_id=department_id, status=status, as_of=as_of or clock.today()
    )
    return {
        "year": plan.year,
        "as_of": result.as_of,
        "commitments": [
            {
                "id": row.commitment.pk,
                "section": row.commitment.section,
                "indicator": row.commitment.indicator,
                "measure": row.commitment.measure,
                "comparator": row.commitment.comparator,
                "value": row.commitment.value,
                "upper": row.commitment.upper,
                "unit": row.commitment.unit,
                "deadline": row.commitment.deadline,
                "lead_department": row.commitment.lead_department.code
                if row.commitment.lead_department
                else None,
                "status": row.status,
                "reason": row.reason_text,
                "expected_fraction": float(row.assessment.expected_fraction),
                "latest_value": row.latest_value,
                "latest_period": row.latest_period,
                "forecast": row.assessment.forecast,
                "report_overdue_since": row.overdue_period,
            }
            for row in result.rows
        ],
    }


@router.post(
    "/progress", response={201: ProgressOut, 400: Error, 403: Error, 404: Error}, auth=ProgressKey()
)
def progress_create(request, payload: ProgressIn):
    """File a progress report as a system, on a commitment its department leads. It is
    submitted for the supervision office's approval, like any report."""
    commitment = Commitment.objects.select_related("plan").filter(pk=payload.commitment_id).first()
    if commitment is None:
        return Status(404, {"detail": f"no commitment {payload.commitment_id}"})
    client: ApiClient = request.auth
    if client.department_id is None:
        return Status(403, {"detail": "this API client is not bound to a department"})
    try:
        report = tracking.progress_save(
            commitment=commitment,
            actor=client,
            period_end=payload.period_end,
            value=payload.value,
            done_date=payload.done_date,
            work_done=payload.work_done,
            problems=payload.problems,
            next_steps=payload.next_steps,
            channel=ProgressReport.Channel.API,
            submit=True,
            via_api_department=client.department,
        )
    except PermissionDenied as exc:
        return Status(403, {"detail": str(exc)})
    except ValidationError as exc:
        return Status(400, {"detail": "; ".join(exc.messages)})
    return Status(
        201,
        {
            "id": report.pk,
            "commitment_id": commitment.pk,
            "period_end": report.period_end,
            "version": report.version,
            "status": report.status,
        },
    )

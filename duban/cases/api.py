"""Cases API (/api/v1/cases/): other systems — inspection apps, camera or drone analytics —
file cases with an `X-API-Key` of scope "cases", and read a case's public status.

An `external_id` makes a submission idempotent: sent again (a retry after a lost answer),
it returns the first case with 200 instead of 201."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyHeader

from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_for_key
from duban.cases import services
from duban.cases.models import OPEN_STATUSES, Case, Channel, parse_ticket

router = Router(tags=["cases"])
API_CHANNELS = ("api", "inspection", "camera", "drone", "hotline")


class CasesKey(APIKeyHeader):
    """`X-API-Key: <key>` of an API client with the cases scope."""

    param_name = "X-API-Key"

    def _get_key(self, request):
        # The header itself: Ninja's request.headers would first build a dict of every
        # header, on every intake, to read this one.
        return request.META.get("HTTP_X_API_KEY")

    def authenticate(self, request, key):
        return api_client_for_key(key, scope=ApiClient.Scope.CASES)


class IntakeKey(CasesKey):
    """The same key, for filing a case (case_file only): the stamps of the intake's tables
    read in the same query, and on PostgreSQL the client given from memory after the first
    intake — which case_file then trusts only for a case stored in a transaction that
    confirmed it (accounts.tokens.api_client_for_key(cached=True))."""

    def authenticate(self, request, key):
        return _intake_client(key)


def _intake_client(key: str | None, *, fresh: bool = False) -> ApiClient | None:
    return api_client_for_key(
        key, scope=ApiClient.Scope.CASES, stamps=services.INTAKE_STAMPS, cached=True, fresh=fresh
    )


class CaseIn(Schema):
    service_code: str = Field(..., max_length=40)
    description: str = Field(..., min_length=1, max_length=4000)
    channel: str = Field("api", description="api, inspection, camera, drone or hotline")
    external_id: str = Field("", max_length=80, description="the caller's id, for safe retries")
    address: str = Field("", max_length=200)
    lat: Decimal | None = Field(None, ge=-90, le=90)
    long: Decimal | None = Field(None, ge=-180, le=180)
    media_url: str = Field("", max_length=500)
    attributes: dict[str, str | list[str]] = Field(default_factory=dict)


class CaseOut(Schema):
    service_request_id: str
    status: str
    open: bool
    service_code: str
    department: str | None
    requested_datetime: dt.datetime
    response_deadline: dt.datetime | None
    expected_datetime: dt.datetime | None
    responded_datetime: dt.datetime | None
    resolved_datetime: dt.datetime | None
    status_notes: str


def _out(case: Case) -> dict:
    local = timezone.localtime
    return {
        "service_request_id": case.ticket,
        "status": case.status,
        "open": case.status in OPEN_STATUSES,
        "service_code": case.category.code,
        "department": case.department.name if case.department_id else None,
        "requested_datetime": local(case.received_at),
        "response_deadline": case.response_deadline and local(case.response_deadline),
        "expected_datetime": case.resolution_deadline and local(case.resolution_deadline),
        "responded_datetime": case.responded_at and local(case.responded_at),
        "resolved_datetime": case.resolved_at and local(case.resolved_at),
        "status_notes": case.status_notes,
    }


@router.post("/", auth=IntakeKey(), response={200: CaseOut, 201: CaseOut})
def case_file(request, payload: CaseIn):

    def read_again() -> ApiClient:
        client = _intake_client(request.META.get("HTTP_X_API_KEY"), fresh=True)
        if client is None:
            raise AuthenticationError()
        return client

    intake = services.intake_with_client(
        request.auth,
        lambda client: _file(client, payload),
        refusals=(HttpError,),
        read_again=read_again,
    )
    case = intake.case
    if not intake.created:
        case = Case.objects.select_related("category", "department").get(pk=case.pk)
    # Rendered here as Ninja renders a CaseOut (the same bytes: tested), without validating
    # the answer built from the stored case again (it costs more than the rest of the
    # answer). CaseOut still documents it.
    from duban.api import api

    return api.create_response(request, _out(case), status=201 if intake.created else 200)


def _file(client: ApiClient, payload: CaseIn) -> services.Intake:
    if payload.channel not in API_CHANNELS:
        raise HttpError(400, f"channel must be one of {', '.join(API_CHANNELS)}")
    category, calendar = services.intake_tables(
        services.clean_text(payload.service_code), stamps=client.stamps
    )
    if category is None:
        raise HttpError(404, f"service_code {payload.service_code} not found")
    try:
        return services.case_create(
            category=category,
            channel=Channel(payload.channel),
            description=payload.description,
            actor=f"api:{client.name}",
            address=payload.address,
            lat=payload.lat,
            long=payload.long,
            media_url=payload.media_url,
            attributes=payload.attributes,
            api_client=client,
            external_id=payload.external_id,
            calendar=calendar,
        )
    except ValidationError as exc:
        raise HttpError(400, "; ".join(exc.messages)) from None
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None


@router.get("/{ticket}", auth=CasesKey(), response=CaseOut)
def case_status(request, ticket: str):
    """A case filed by this system."""
    parsed = parse_ticket(ticket)
    case = None
    if parsed is not None:
        case = (
            Case.objects.select_related("category", "department")
            .filter(pk=parsed[1], api_client=request.auth)
            .first()
        )
        if case is not None and timezone.localtime(case.received_at).date() != parsed[0]:
            case = None
    if case is None:
        raise HttpError(404, "no such case of this client")
    return _out(case)

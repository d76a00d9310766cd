"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) at /open311/v2/.

Every resource is served as `.json` and `.xml`; JSON mirrors the XML, so lists are bare
arrays. Errors are a list of {code, description} (XML: <errors><error>…</error></errors>)
with 404 for an unknown resource, service_code, jurisdiction or token, 403 for a missing or
wrong api_key, 400 for anything else. The reporter's name, phone and e-mail are never part
of any answer."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from duban import clock
from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_for_key
from duban.cases import conf, services
from duban.cases.models import OPEN_STATUSES, Case, Category, Channel, parse_ticket

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2022-09-30T00:00:00+08:00"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_RESULTS = 1000
WINDOW = dt.timedelta(days=90)
# XML element names of list items.
ITEMS = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "services": "service",
    "service_requests": "request",
    "errors": "error",
}
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


class Open311Error(Exception):
    def __init__(self, status: int, *descriptions: str):
        self.status = status
        self.descriptions = descriptions or ("error",)


# -- rendering -----------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(parent, name: str, value) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, child in value.items():
            _xml(element, key, child)
    elif isinstance(value, list):
        for child in value:
            _xml(element, ITEMS.get(name, "item"), child)
    else:
        element.text = _text(value)


def render(fmt: str, root: str, payload, *, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        element = ET.Element(root)
        if isinstance(payload, list):
            for item in payload:
                _xml(element, ITEMS[root], item)
        else:
            for key, value in payload.items():
                _xml(element, key, value)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, "utf-8")
    else:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    return render(
        fmt, "errors", [{"code": status, "description": d} for d in descriptions], status=status
    )


def _when(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def endpoint(view):
    """Check the format and the jurisdiction; turn Open311Error into the spec's errors."""

    def wrapper(request, *args, fmt: str, **kwargs):
        try:
            if request.method not in view.methods:
                raise Open311Error(
                    405, f"{request.method} is not allowed here; use {', '.join(view.methods)}"
                )
            params = request.POST if request.method == "POST" else request.GET
            jurisdiction = (params.get("jurisdiction_id") or "").strip()
            if (
                jurisdiction
                and conf.OPEN311_JURISDICTION
                and (jurisdiction != conf.OPEN311_JURISDICTION)
            ):
                raise Open311Error(404, f"jurisdiction_id {jurisdiction[:60]} not found")
            return view(request, *args, fmt=fmt, **kwargs)
        except Open311Error as exc:
            response = error(fmt, exc.status, *exc.descriptions)
            if exc.status == 405:
                response["Allow"] = ", ".join(view.methods)
            return response

    wrapper.__name__ = view.__name__
    return csrf_exempt(wrapper)


def methods(*names):
    def decorate(view):
        view.methods = names
        return view

    return decorate


# -- discovery and services ------------------------------------------------------------------


@endpoint
@methods("GET")
def discovery(request, *, fmt):
    return render(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": conf.OPEN311_CONTACT,
            "key_service": "api_key: ask the centre (督查室) for an Open311 client key",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": request.build_absolute_uri("/open311/v2/"),
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


def _service(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": category.n_attributes > 0,
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group,
    }


def _categories():
    return Category.objects.filter(is_active=True).annotate(n_attributes=Count("attributes"))


@endpoint
@methods("GET")
def service_list(request, *, fmt):
    return render(fmt, "services", [_service(c) for c in _categories()])


def _active(code: str, category: Category | None) -> Category:
    if category is None or not category.is_active:
        raise Open311Error(404, f"service_code {code[:60]} not found")
    return category


def _category(code: str) -> Category:
    code = services.clean_text(code)
    return _active(code, services.category_for_code(code))


@endpoint
@methods("GET")
def service_definition(request, code: str, *, fmt):
    category = _category(code)
    attributes = [
        {
            "variable": a.variable,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": a.datatype_description,
            "order": a.order,
            "description": a.description,
            "values": [{"key": v.get("key"), "name": v.get("name")} for v in a.values or []],
        }
        for a in category.attributes.all()
    ]
    return render(
        fmt, "service_definition", {"service_code": category.code, "attributes": attributes}
    )


# -- requests ---------------------------------------------------------------------------------


def request_data(case: Case) -> dict:
    """The public face of a case. Nothing personal: no name, phone or e-mail."""
    return {
        "service_request_id": case.ticket,
        "status": "open" if case.status in OPEN_STATUSES else "closed",
        "status_notes": case.status_notes or None,
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "agency_responsible": case.department.name if case.department_id else None,
        "service_notice": case.category.service_notice or None,
        "requested_datetime": _when(case.received_at),
        "updated_datetime": _when(case.updated_at),
        "expected_datetime": _when(case.resolution_deadline),
        "address": case.address or None,
        "address_id": case.address_id or None,
        "zipcode": case.zipcode or None,
        "lat": float(case.lat) if case.lat is not None else None,
        "long": float(case.long) if case.long is not None else None,
        "media_url": case.media_url or None,
    }


def _param(params, name: str) -> str:
    value = params.get(name)
    # Most of the parameters an intake reads are absent: no need to clean nothing.
    return services.clean_text(value) if value else ""


def _moment(value: str, name: str, *, end: bool = False) -> dt.datetime | None:
    if not value:
        return None
    moment = None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is not None:
                moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(400, f"{name} must be an ISO 8601 date and time")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _positive(params, name: str, default: int, maximum: int) -> int:
    raw = _param(params, name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise Open311Error(400, f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


def _requests_query(params):
    cases = Case.objects.select_related("category", "department").order_by("-received_at", "-id")
    ids = _param(params, "service_request_id")
    if ids:
        wanted = []
        for ticket in ids.split(",")[:MAX_RESULTS]:
            parsed = parse_ticket(ticket)
            if parsed is None:
                raise Open311Error(400, f"service_request_id {ticket.strip()[:40]} is not valid")
            wanted.append(parsed)
        found = cases.filter(pk__in=[pk for _day, pk in wanted])
        days = dict((pk, day) for day, pk in wanted)
        return [c for c in found if timezone.localtime(c.received_at).date() == days[c.pk]]
    codes = [c.strip() for c in _param(params, "service_code").split(",") if c.strip()]
    if codes:
        known = set(Category.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise Open311Error(404, *[f"service_code {c[:60]} not found" for c in unknown])
        cases = cases.filter(category__code__in=codes)
    statuses = [s.strip() for s in _param(params, "status").split(",") if s.strip()]
    for status in statuses:
        if status not in ("open", "closed"):
            raise Open311Error(400, "status must be open or closed")
    if len(set(statuses)) == 1:
        if statuses[0] == "open":
            cases = cases.filter(status__in=OPEN_STATUSES)
        else:
            cases = cases.exclude(status__in=OPEN_STATUSES)
    start = _moment(_param(params, "start_date"), "start_date")
    end = _moment(_param(params, "end_date"), "end_date", end=True)
    if start and end:
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > WINDOW:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    elif start:
        end = start + WINDOW
    elif end:
        start = end - WINDOW
    else:
        end = clock.now()
        start = end - WINDOW
    cases = cases.filter(received_at__gte=start, received_at__lte=end)
    page_size = _positive(params, "page_size", MAX_RESULTS, MAX_RESULTS)
    page = _positive(params, "page", 1, 10**6)
    offset = (page - 1) * page_size
    if offset >= MAX_RESULTS:
        return []
    return list(cases[offset : min(offset + page_size, MAX_RESULTS)])


@endpoint
@methods("GET", "POST")
def requests(request, *, fmt):
    if request.method == "POST":
        return _create(request, fmt)
    return render(fmt, "service_requests", [request_data(c) for c in _requests_query(request.GET)])


ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def _create(request, fmt):
    params = request.POST
    intake = services.intake_with_client(
        _client(params),
        lambda client: _file(client, params),
        refusals=(Open311Error,),
        read_again=lambda: _client(params, fresh=True),
    )
    case = intake.case
    return render(
        fmt,
        "service_requests",
        [
            {
                "service_request_id": case.ticket,
                "token": case.open311_token,
                "service_notice": case.category.service_notice or None,
                "account_id": None,
            }
        ],
        status=201,
    )


def _client(params, *, fresh: bool = False) -> ApiClient:
    client = api_client_for_key(
        _param(params, "api_key"),
        scope=ApiClient.Scope.OPEN311,
        stamps=services.INTAKE_STAMPS,
        cached=True,
        fresh=fresh,
    )
    if client is None:
        raise Open311Error(403, "api_key is missing or not valid")
    return client


def _file(client: ApiClient, params) -> services.Intake:
    code = _param(params, "service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    code = services.clean_text(code)
    # Their stamps were read with the key: no query of its own.
    category, calendar = services.intake_tables(code, stamps=client.stamps)
    category = _active(code, category)
    attributes: dict = {}
    for key in params:
        match = ATTRIBUTE.match(key)
        if match:
            values = [v for v in params.getlist(key) if v.strip()]
            if match.group(2):
                attributes.setdefault(match.group(1), []).extend(values)
            else:
                attributes[match.group(1)] = values[-1] if values else ""
    name = " ".join(p for p in (_param(params, "first_name"), _param(params, "last_name")) if p)
    try:
        intake = services.case_create(
            category=category,
            channel=Channel.OPEN311,
            description=_param(params, "description"),
            actor=f"open311:{client.name}",
            address=_param(params, "address_string"),
            address_id=_param(params, "address_id"),
            zipcode=_param(params, "zipcode"),
            lat=_param(params, "lat") or None,
            long=_param(params, "long") or None,
            media_url=_param(params, "media_url"),
            attributes=attributes,
            reporter_name=name,
            reporter_phone=_param(params, "phone"),
            reporter_email=_param(params, "email"),
            api_client=client,
            open311_token=True,
            calendar=calendar,
        )
    except ValidationError as exc:
        raise Open311Error(400, *exc.messages) from None
    except PermissionDenied as exc:
        raise Open311Error(403, str(exc)) from None
    return intake


@endpoint
@methods("GET")
def request_detail(request, ticket: str, *, fmt):
    parsed = parse_ticket(ticket)
    case = None
    if parsed is not None:
        day, pk = parsed
        case = Case.objects.select_related("category", "department").filter(pk=pk).first()
        if case is not None and timezone.localtime(case.received_at).date() != day:
            case = None
    if case is None:
        raise Open311Error(404, f"service_request_id {ticket[:40]} not found")
    return render(fmt, "service_requests", [request_data(case)])


@endpoint
@methods("GET")
def token_detail(request, token: str, *, fmt):
    valid = len(token) <= 40 and not services.CONTROL.search(token)
    case = Case.objects.filter(open311_token=token).first() if valid else None
    if case is None:
        raise Open311Error(404, "token not found")
    return render(
        fmt, "service_requests", [{"service_request_id": case.ticket, "token": case.open311_token}]
    )


def not_found(request, rest: str = ""):
    fmt = "xml" if rest.endswith(".xml") else "json"
    return error(fmt, 404, "no such resource; see discovery.json")

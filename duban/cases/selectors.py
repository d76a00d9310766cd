"""Reads of the cases module: keyset-paginated lists, the desk, queues, KPIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from duban import clock
from duban.cases import conf
from duban.cases.lights import overdue_q, resolution_light, response_light, yellow_q
from duban.cases.models import OPEN_STATUSES, Case, Status

PAGE = 50


@dataclass
class Page:
    rows: list
    next_before: int | None
    now: dt.datetime = field(default_factory=clock.now)


def keyset(queryset: QuerySet, *, before: int | None, limit: int = PAGE) -> Page:
    """Newest first by id; `before` is the last id of the previous page. Constant cost at
    any depth (the id index), unlike OFFSET."""
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset.order_by("-id")[: limit + 1])
    next_before = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit]
    now = clock.now()
    for case in rows:
        case.response_light = response_light(case, now)
        case.resolution_light = resolution_light(case, now)
    return Page(rows, next_before, now)


def _list(queryset):
    return queryset.select_related("category", "department", "category__default_department")


def desk_new(*, before: int | None = None) -> Page:
    return keyset(
        _list(Case.objects.filter(status__in=[Status.RECEIVED, Status.REGISTERED])), before=before
    )


def desk_pending() -> list[Case]:
    # Only cases in these states can carry a request: the status index narrows the scan.
    waiting = Case.objects.filter(
        status__in=[Status.DISPATCHED, Status.ACCEPTED, Status.RESPONDED]
    ).exclude(pending="")
    return list(_list(waiting).order_by("id")[:PAGE])


def overdue_by_department() -> list[dict]:
    now = clock.now()
    return list(
        Case.objects.filter(overdue_q(now))
        .values("department__id", "department__name", "department__code")
        .annotate(n=Count("id"))
        .order_by("-n", "department__name")
    )


QUEUE_SCOPES = ("open", "overdue", "yellow", "done", "all")


def queue(*, department_id: int | None, scope: str = "open", before: int | None = None) -> Page:
    cases = Case.objects.all()
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if scope == "open":
        cases = cases.filter(status__in=OPEN_STATUSES)
    elif scope == "overdue":
        cases = cases.filter(overdue_q())
    elif scope == "yellow":
        cases = cases.filter(yellow_q())
    elif scope == "done":
        cases = cases.filter(status__in=[Status.RESOLVED, Status.VERIFIED, Status.CLOSED])
    return keyset(_list(cases), before=before)


# -- KPIs ---------------------------------------------------------------------------------

GROUPS = {
    "department": "department__name",
    "category": "category__name",
    "channel": "channel",
}


@dataclass
class KpiRow:
    key: str
    total: int
    dispatched: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    ontime_rate: float | None
    return_rate: float | None
    extension_rate: float | None
    repeats: int
    score: float | None


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def kpis(*, group: str, start: dt.date, end: dt.date) -> list[KpiRow]:
    """响应率, 解决率, 满意率, 按时办结率, 退单率, 延期率 and repeat complaints of the cases
    received in [start, end], one row per department, category or channel — counted by the
    database in one grouped query."""
    if group not in GROUPS:
        raise ValueError(group)
    tz = timezone.get_default_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = (
        Case.objects.filter(received_at__gte=since, received_at__lt=until)
        .exclude(status=Status.VOID)
        .values(GROUPS[group])
        .annotate(
            total=Count("id"),
            dispatched=Count("id", filter=Q(dispatched_at__isnull=False)),
            responded_in_time=Count(
                "id",
                filter=Q(
                    dispatched_at__isnull=False,
                    responded_at__isnull=False,
                    responded_at__lte=F("response_deadline"),
                ),
            ),
            resolved=Count("id", filter=Q(resolved_at__isnull=False)),
            resolved_in_time=Count(
                "id",
                filter=Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_deadline")),
            ),
            answered=Count("id", filter=~Q(satisfaction="")),
            satisfied=Count("id", filter=Q(satisfaction="satisfied")),
            basic=Count("id", filter=Q(satisfaction="basic")),
            solved_answered=Count("id", filter=Q(feedback_solved__isnull=False)),
            solved=Count("id", filter=Q(feedback_solved=True)),
            returned=Count("id", filter=Q(return_count__gt=0)),
            extended=Count("id", filter=Q(extension_count__gt=0)),
            repeats=Count("id", filter=Q(reopen_count__gt=0)),
        )
        .order_by(GROUPS[group])
    )
    weight = conf.BASIC_SATISFIED_PERCENT / 100
    result = []
    for row in rows:
        rates = {
            "response": _rate(row["responded_in_time"], row["dispatched"]),
            "resolution": _rate(row["solved"], row["solved_answered"]),
            "satisfaction": _rate(row["satisfied"] + weight * row["basic"], row["answered"]),
            "ontime": _rate(row["resolved_in_time"], row["resolved"]),
        }
        weights = {k: w for k, w in conf.KPI_WEIGHTS.items() if rates[k] is not None and w}
        score = (
            sum(rates[k] * w for k, w in weights.items()) / sum(weights.values())
            if weights
            else None
        )
        result.append(
            KpiRow(
                key=row[GROUPS[group]] or "—",
                total=row["total"],
                dispatched=row["dispatched"],
                response_rate=rates["response"],
                resolution_rate=rates["resolution"],
                satisfaction_rate=rates["satisfaction"],
                ontime_rate=rates["ontime"],
                return_rate=_rate(row["returned"], row["dispatched"]),
                extension_rate=_rate(row["extended"], row["dispatched"]),
                repeats=row["repeats"],
                score=score,
            )
        )
    return result


def possible_duplicates(case: Case, *, limit: int = 5) -> list[Case]:
    """Cases of the same category at the same address, or within conf.DUPLICATE_RADIUS_M,
    received within conf.DUPLICATE_DAYS before this one (earlier cases only: the later one
    is the duplicate)."""
    since = case.received_at - dt.timedelta(days=conf.DUPLICATE_DAYS)
    nearby = Q()
    if case.address:
        nearby |= Q(address=case.address)
    if case.lat is not None and case.long is not None:
        # A box first (indexable), then the exact distance in Python.
        from decimal import Decimal

        degrees = Decimal(conf.DUPLICATE_RADIUS_M) / Decimal(111_000)
        nearby |= Q(
            lat__range=(case.lat - degrees, case.lat + degrees),
            long__range=(case.long - degrees * 2, case.long + degrees * 2),
        )
    if not nearby:
        return []
    candidates = (
        Case.objects.filter(nearby, category_id=case.category_id, received_at__gte=since)
        .filter(received_at__lte=case.received_at, id__lt=case.pk)
        .exclude(status=Status.VOID)
        .order_by("-id")[:50]
    )
    found = []
    for other in candidates:
        if other.address and other.address == case.address:
            found.append(other)
        elif None not in (other.lat, other.long, case.lat, case.long):
            if _metres(case, other) <= conf.DUPLICATE_RADIUS_M:
                found.append(other)
    return found[:limit]


def _metres(a: Case, b: Case) -> float:
    import math

    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (a.lat, a.long, b.lat, b.long)))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))

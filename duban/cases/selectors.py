"""Reads of the cases module: keyset-paginated lists, the desk, queues, KPIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from duban import clock
from duban.accounts.models import Department
from duban.cases import conf
from duban.cases.lights import (
    overdue_condition,
    resolution_light,
    response_light,
    yellow_condition,
)
from duban.cases.models import (
    DONE_STATUSES,
    LAT_BAND_DIGITS,
    OPEN_STATUSES,
    RUNNING_STATUSES,
    Case,
    CaseEvent,
    Status,
    lat_band,
    overdue_counts,
)

PAGE = 50


@dataclass
class Page:
    rows: list
    next_before: int | None
    now: dt.datetime = field(default_factory=clock.now)


def _with_lights(rows: list[Case], now: dt.datetime) -> list[Case]:
    for case in rows:
        case.response_light = response_light(case, now)
        case.resolution_light = resolution_light(case, now)
        case.proposed_duplicates = ()
    return rows


def first_ids(parts: list[QuerySet], *, limit: int, newest: bool = True) -> list[int]:
    """The ids of the first `limit` cases, by id, of the union of `parts`, in one query.

    Each part is read along its own index and cut at `limit` before they are merged:
    a part filters one status (and one department), so the indexes (status, id) and
    (department, status, id) give its rows already in id order. One ``status IN (...)``
    (or an OR) would instead make the database collect every matching row and sort them,
    or walk the whole table by id: the cost would grow with the number of cases."""
    order = "-id" if newest else "id"
    parts = [part.order_by(order).values_list("id", flat=True)[:limit] for part in parts]
    if len(parts) == 1:
        return list(parts[0])
    selects, params = [], []
    for n, part in enumerate(parts):
        sql, part_params = part.query.sql_with_params()
        selects.append(f"SELECT id FROM ({sql}) part{n}")
        params.extend(part_params)
    direction = "DESC" if newest else "ASC"
    sql = f"{' UNION ALL '.join(selects)} ORDER BY id {direction} LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _rows(ids: list[int], *, newest: bool = True) -> list[Case]:
    return list(_list(Case.objects.filter(id__in=ids)).order_by("-id" if newest else "id"))


def keyset_parts(parts: list[QuerySet], *, before: int | None, limit: int = PAGE) -> Page:
    """`keyset` over the union of `parts` (see `first_ids`): two queries at any depth and
    any number of cases."""
    if before is not None:
        parts = [part.filter(id__lt=before) for part in parts]
    ids = first_ids(parts, limit=limit + 1)
    next_before = ids[limit - 1] if len(ids) > limit else None
    now = clock.now()
    return Page(_with_lights(_rows(ids[:limit]), now), next_before, now)


def _list(queryset):
    return queryset.select_related("category", "department", "category__default_department")


NEW_STATUSES = (Status.RECEIVED, Status.REGISTERED)
# Only cases in these states can carry a request (return, extension, suspension).
REQUEST_STATUSES = (Status.DISPATCHED, Status.ACCEPTED, Status.RESPONDED)


def desk_new(*, before: int | None = None) -> Page:
    return keyset_parts([Case.objects.filter(status=s) for s in NEW_STATUSES], before=before)


def desk_pending() -> list[Case]:
    """Requests waiting for the centre, oldest first."""
    parts = [Case.objects.filter(status=s).exclude(pending="") for s in REQUEST_STATUSES]
    return _rows(first_ids(parts, limit=PAGE, newest=False), newest=False)


def overdue_by_department(counts: dict[int | None, int] | None = None) -> list[dict]:
    """Overdue cases per department (none: not dispatched yet), most first: from the
    monthly buckets and the current month's range of the overdue index (models.
    overdue_counts), so the work does not grow with the number of cases. `counts`: the
    caller's overdue_counts by department, when it has them."""
    if counts is None:
        counts = overdue_counts(clock.now())[0]
    names = {
        d.pk: (d.name, d.code)
        for d in Department.objects.filter(pk__in=[pk for pk in counts if pk is not None])
    }
    result = [
        {
            "department__id": pk,
            "department__name": names.get(pk, (None, None))[0],
            "department__code": names.get(pk, (None, None))[1],
            "n": n,
        }
        for pk, n in counts.items()
    ]
    result.sort(key=lambda row: (-row["n"], row["department__name"] or "\uffff"))
    return result


def entered_by(user, *, limit: int = 20) -> Page:
    """The cases `user` entered (staff entry: the intake step is theirs), newest first:
    the hotline page's "your last calls". Reads the user's intake steps along the index of
    the event's actor, so it costs the same at any number of cases."""
    ids = list(
        CaseEvent.objects.filter(actor_id=user.pk, kind="received")
        .order_by("-id")
        .values_list("case_id", flat=True)[:limit]
    )
    now = clock.now()
    return Page(_with_lights(_rows(ids), now), None, now)


def case_by_ticket(day: dt.date, number: int) -> Case | None:
    """The case whose ticket number is `day`-`number`: the number is the case's id and the
    day its day of receipt (local), so a mistyped day finds nothing rather than another
    case."""
    case = _list(Case.objects.filter(pk=number)).first()
    if case is None or timezone.localdate(case.received_at) != day:
        return None
    return case


QUEUE_SCOPES = ("open", "overdue", "yellow", "done", "all")


def queue(
    *,
    department_id: int | None,
    scope: str = "open",
    before: int | None = None,
    street: str | None = None,
) -> Page:
    cases = Case.objects.all()
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if street:
        # The cockpit's hot spots drill down here.
        cases = cases.filter(street=street)
    now = clock.now()
    if scope == "open":
        parts = [cases.filter(status=s) for s in OPEN_STATUSES]
    elif scope == "overdue":
        parts = [cases.filter(overdue_condition(now), status=s) for s in RUNNING_STATUSES]
    elif scope == "yellow":
        parts = [cases.filter(yellow_condition(now), status=s) for s in RUNNING_STATUSES]
    elif scope == "done":
        parts = [cases.filter(status=s) for s in DONE_STATUSES]
    elif department_id is not None:
        # One list per status, each read in id order from (department, status, id): a
        # department's cases have no index of their own (each is a write in every intake).
        parts = [cases.filter(status=s) for s in Status.values]
    else:
        parts = [cases]
    return keyset_parts(parts, before=before)


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
    return [kpi_row(row[GROUPS[group]], row) for row in rows]


def kpi_row(key: str | None, counts: dict) -> KpiRow:
    """One KPI row from its counters (``total``: cases not void): the rates and the
    composite score, whether the counters come from the cases or from the roll-up."""
    weight = conf.BASIC_SATISFIED_PERCENT / 100
    rates = {
        "response": _rate(counts["responded_in_time"], counts["dispatched"]),
        "resolution": _rate(counts["solved"], counts["solved_answered"]),
        "satisfaction": _rate(counts["satisfied"] + weight * counts["basic"], counts["answered"]),
        "ontime": _rate(counts["resolved_in_time"], counts["resolved"]),
    }
    weights = {k: w for k, w in conf.KPI_WEIGHTS.items() if rates[k] is not None and w}
    score = (
        sum(rates[k] * w for k, w in weights.items()) / sum(weights.values()) if weights else None
    )
    return KpiRow(
        key=key or "—",
        total=counts["total"],
        dispatched=counts["dispatched"],
        response_rate=rates["response"],
        resolution_rate=rates["resolution"],
        satisfaction_rate=rates["satisfaction"],
        ontime_rate=rates["ontime"],
        return_rate=_rate(counts["returned"], counts["dispatched"]),
        extension_rate=_rate(counts["extended"], counts["dispatched"]),
        repeats=counts["repeats"],
        score=score,
    )


def possible_duplicates(case: Case, *, limit: int = 5) -> list[Case]:
    """Cases of the same category at the same address, or within conf.DUPLICATE_RADIUS_M,
    received within conf.DUPLICATE_DAYS before this one (earlier cases only: the later one
    is the duplicate)."""
    return duplicates_of([case], limit=limit)[case.pk]


def duplicates_of(cases: list[Case], *, limit: int = 5) -> dict[int, list[Case]]:
    """`possible_duplicates` of several cases (a page of the desk) in one query.

    Per category of the cases, one window of receipt covers them all, and two questions
    are asked of it: the same addresses (index cases_address: address, category,
    received_at) and the boxes around their coordinates. Each box names the latitude
    bands it spans (models.lat_band), so that it reads a few short ranges of the index
    cases_cat_band_received (category, band, received_at, lat, long) and checks the box
    inside it: its cost follows the cases near the box, not the service's whole window
    (when every box read the window, the check took 90 ms of a desk page at 1,000,000
    cases on PostgreSQL). All the questions go in one OR, which the databases answer
    index by index (PostgreSQL: one bitmap of them all; SQLite: its OR-by-union), and
    without an ORDER BY, which could tempt a database to walk the primary key instead.
    The window of each case and the exact distance are then checked in Python on the few
    candidates."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    degrees = Decimal(conf.DUPLICATE_RADIUS_M) / Decimal(111_000)
    scale = Decimal(10) ** LAT_BAND_DIGITS

    def bands(low: Decimal, high: Decimal) -> list[int]:
        # Every band a latitude in [low, high] can round to, and one more on each side
        # for the database's rounding of the stored value.
        first = int((low * scale).to_integral_value(ROUND_FLOOR)) - 1
        last = int((high * scale).to_integral_value(ROUND_CEILING)) + 1
        return list(range(first, last + 1))

    days = dt.timedelta(days=conf.DUPLICATE_DAYS)
    groups: dict[int, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.category_id, []).append(case)
    # The questions in plain SQL: the ORM took 25 ms to build the sixty-odd of a desk
    # page. The band is the ORM's own SQL of models.lat_band(), as the index has it.
    ops = connection.ops
    table = ops.quote_name(Case._meta.db_table)

    def column(name: str) -> str:
        return f"{table}.{ops.quote_name(name)}"

    query = Case.objects.all().query
    band_sql, band_params = query.get_compiler(connection=connection).compile(
        lat_band().resolve_expression(query)
    )
    window_sql = (
        f"{column('category_id')} = %s AND {column('received_at')} >= %s "
        f"AND {column('received_at')} <= %s AND {column('id')} < %s"
    )
    box_sql = f"{column('lat')} BETWEEN %s AND %s AND {column('long')} BETWEEN %s AND %s"
    terms: list[str] = []
    params: list = []
    for category_id, group in groups.items():
        window = [
            category_id,
            ops.adapt_datetimefield_value(min(c.received_at for c in group) - days),
            ops.adapt_datetimefield_value(max(c.received_at for c in group)),
            max(c.pk for c in group),
        ]
        addresses = sorted({c.address for c in group if c.address})
        if addresses:
            marks = ", ".join(["%s"] * len(addresses))
            terms.append(f"({window_sql} AND {column('address')} IN ({marks}))")
            params += [*window, *addresses]
        for c in group:
            if c.lat is not None and c.long is not None:
                # A box first (indexable), then the exact distance in Python.
                low, high = c.lat - degrees, c.lat + degrees
                near = bands(low, high)
                marks = ", ".join(["%s"] * len(near))
                terms.append(f"({window_sql} AND {band_sql} IN ({marks}) AND {box_sql})")
                params += [*window, *band_params, *near]
                params += [
                    ops.adapt_decimalfield_value(value)
                    for value in (low, high, c.long - degrees * 2, c.long + degrees * 2)
                ]
    found: dict[int, list[Case]] = {case.pk: [] for case in cases}
    if not terms:
        return found
    questions = RawSQL(" OR ".join(terms), params, output_field=BooleanField())
    # Candidates as plain rows (what the check and the pages use of a case, no more): a
    # model instance, let alone a whole row with its dozen timestamps, is made only for
    # the few that are found.
    fields = ("id", "category_id", "received_at", "address", "lat", "long", "status")
    rows = (
        Case.objects.filter(questions).exclude(status=Status.VOID).order_by().values_list(*fields)
    )
    # from_db() takes the values in the order of the model's fields.
    loaded = [f.attname for f in Case._meta.concrete_fields if f.attname in fields]
    candidates: dict[int, list[tuple]] = {}
    for row in sorted(rows, key=lambda row: -row[0]):
        candidates.setdefault(row[1], []).append(row)
    made: dict[int, Case] = {}
    for case in cases:
        since = case.received_at - days
        for row in candidates.get(case.category_id, ()):
            if len(found[case.pk]) >= limit:
                break
            pk, _category, received_at, address, lat, long, _status = row
            if pk >= case.pk or not since <= received_at <= case.received_at:
                continue
            if not (address and address == case.address) and (
                None in (lat, long, case.lat, case.long)
                or _metres_between(case.lat, case.long, lat, long) > conf.DUPLICATE_RADIUS_M
            ):
                continue
            if pk not in made:
                values = dict(zip(fields, row, strict=True))
                made[pk] = Case.from_db(Case.objects.db, loaded, [values[name] for name in loaded])
            found[case.pk].append(made[pk])
    return found


def _metres(a: Case, b: Case) -> float:
    return _metres_between(a.lat, a.long, b.lat, b.long)


def _metres_between(lat_a, long_a, lat_b, long_b) -> float:
    import math

    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (lat_a, long_a, lat_b, long_b)))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))

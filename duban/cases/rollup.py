"""The incremental daily roll-up of case KPIs (``CaseDayStat``), so that the cockpit and the
KPI pages count a year of cases without scanning them.

A case *contributes* 1 to some counters of exactly one row: the row of its day of receipt
(local date), category, department and channel. Every write of a case in ``services``
takes the contribution before and after the change and adds the difference (``apply``) in
the same transaction, one upsert per row (``core.sql.add_to_row``). ``rebuild`` recomputes rows from the cases
with one grouped query (after a bulk load, or to repair).

The counters mean exactly what the ``Count`` filters of ``selectors.kpis`` mean; ``kpis``
here returns what ``selectors.kpis`` returns for the same arguments (tests compare them
after every workflow step).

Locking: ``apply`` updates its rows in a fixed key order, and services call it before the
audit append, so the order of locks in every case write is: the case row, its overdue
buckets (sorted, in ``Case.save``), the roll-up rows (sorted), the audit chain's head. ``rebuild`` on PostgreSQL locks the roll-up table first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from duban.cases.models import Case, CaseDayStat, Status
from duban.cases.selectors import GROUPS, KpiRow, kpi_row
from duban.core import sql

# The KPI counters, each counting the cases that are not void.
KPI_COUNTERS = (
    "dispatched",
    "responded_in_time",
    "resolved",
    "resolved_in_time",
    "answered",
    "satisfied",
    "basic",
    "solved_answered",
    "solved",
    "returned",
    "extended",
    "repeats",
)
COUNTERS = ("received", "void", *KPI_COUNTERS)

Key = tuple[dt.date, int, int | None, str]  # day, category id, department id, channel
Contribution = tuple[Key, dict[str, int]]


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(timezone.get_default_timezone()).date()


def _le(a, b) -> bool:
    """a <= b as SQL sees it: false when either is NULL."""
    return a is not None and b is not None and a <= b


def contribution(case: Case) -> Contribution:
    """The key of the case's row and the counters it adds to (each 0 or 1)."""
    key = (local_day(case.received_at), case.category_id, case.department_id, case.channel)
    counts = dict.fromkeys(COUNTERS, 0)
    counts["received"] = 1
    if case.status == Status.VOID:
        counts["void"] = 1
        return key, counts
    dispatched = case.dispatched_at is not None
    counts.update(
        dispatched=int(dispatched),
        responded_in_time=int(dispatched and _le(case.responded_at, case.response_deadline)),
        resolved=int(case.resolved_at is not None),
        resolved_in_time=int(_le(case.resolved_at, case.resolution_deadline)),
        answered=int(case.satisfaction != ""),
        satisfied=int(case.satisfaction == "satisfied"),
        basic=int(case.satisfaction == "basic"),
        solved_answered=int(case.feedback_solved is not None),
        solved=int(case.feedback_solved is True),
        returned=int(case.return_count > 0),
        extended=int(case.extension_count > 0),
        repeats=int(case.reopen_count > 0),
    )
    return key, counts


def _order(key: Key):
    day, category, department, channel = key
    return (day, category, -1 if department is None else department, channel)


def apply(before: Contribution | None, after: Contribution | None) -> None:
    """Add `after` minus `before` to the roll-up (nothing when they are equal). Call it in
    the transaction that writes the case."""
    deltas: dict[Key, dict[str, int]] = {}
    for sign, part in ((-1, before), (1, after)):
        if part is None:
            continue
        key, counts = part
        delta = deltas.setdefault(key, {})
        for name, n in counts.items():
            if n:
                delta[name] = delta.get(name, 0) + sign * n
    changes = [
        (key, {k: v for k, v in delta.items() if v})
        for key, delta in sorted(deltas.items(), key=lambda item: _order(item[0]))
    ]
    changes = [(key, delta) for key, delta in changes if delta]
    if not changes:
        return
    with transaction.atomic(savepoint=False):
        for key, delta in changes:
            _add(key, delta)


def _add(key: Key, delta: dict[str, int]) -> None:
    day, category, department, channel = key
    # Two partial unique indexes make the key unique, NULL department included.
    sql.add_to_row(
        CaseDayStat,
        key={
            "day": day,
            "category_id": category,
            "department_id": department,
            "channel": channel,
        },
        delta=delta,
        unique=("day", "category_id", "channel") if department is None else (),
        where='"department_id" IS NULL' if department is None else '"department_id" IS NOT NULL',
    )


# -- rebuilding -------------------------------------------------------------------------


def _not_void(condition: Q | None = None) -> Q:
    base = ~Q(status=Status.VOID)
    return base if condition is None else base & condition


def _grouped(cases) -> Iterable[dict]:
    """The counters of the given cases per key, counted by the database in one query."""
    return (
        cases.annotate(day=TruncDate("received_at", tzinfo=timezone.get_default_timezone()))
        .values("day", "category_id", "department_id", "channel")
        .annotate(
            received=Count("id"),
            void=Count("id", filter=Q(status=Status.VOID)),
            dispatched=Count("id", filter=_not_void(Q(dispatched_at__isnull=False))),
            responded_in_time=Count(
                "id",
                filter=_not_void(
                    Q(
                        dispatched_at__isnull=False,
                        responded_at__isnull=False,
                        responded_at__lte=F("response_deadline"),
                    )
                ),
            ),
            resolved=Count("id", filter=_not_void(Q(resolved_at__isnull=False))),
            resolved_in_time=Count(
                "id",
                filter=_not_void(
                    Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_deadline"))
                ),
            ),
            answered=Count("id", filter=_not_void(~Q(satisfaction=""))),
            satisfied=Count("id", filter=_not_void(Q(satisfaction="satisfied"))),
            basic=Count("id", filter=_not_void(Q(satisfaction="basic"))),
            solved_answered=Count("id", filter=_not_void(Q(feedback_solved__isnull=False))),
            solved=Count("id", filter=_not_void(Q(feedback_solved=True))),
            returned=Count("id", filter=_not_void(Q(return_count__gt=0))),
            extended=Count("id", filter=_not_void(Q(extension_count__gt=0))),
            repeats=Count("id", filter=_not_void(Q(reopen_count__gt=0))),
        )
        .order_by()
    )


def _bounds(start: dt.date | None, end: dt.date | None) -> Q:
    tz = timezone.get_default_timezone()
    q = Q()
    if start is not None:
        q &= Q(received_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz))
    if end is not None:
        until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        q &= Q(received_at__lt=until)
    return q


def rebuild(*, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Recompute the roll-up of the days [start, end] (all days when not given) from the
    cases; returns the number of rows written."""
    return _rebuild(Case, CaseDayStat, start=start, end=end)


def _rebuild(case_model, stat_model, *, start=None, end=None) -> int:
    """`rebuild` with the given models (the migration passes its historical ones)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Writers of cases wait until the new rows are in; none is half-counted.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"LOCK TABLE {connection.ops.quote_name(stat_model._meta.db_table)} "
                    "IN EXCLUSIVE MODE"
                )
        old = stat_model.objects.all()
        if start is not None:
            old = old.filter(day__gte=start)
        if end is not None:
            old = old.filter(day__lte=end)
        old.delete()
        rows = [
            stat_model(
                day=row["day"],
                category_id=row["category_id"],
                department_id=row["department_id"],
                channel=row["channel"],
                **{name: row[name] for name in COUNTERS},
            )
            for row in _grouped(case_model.objects.filter(_bounds(start, end)))
        ]
        stat_model.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def stored(*, start: dt.date | None = None, end: dt.date | None = None) -> dict:
    """The roll-up as kept: {key: counters}, rows of zeros left out."""
    rows = CaseDayStat.objects.all()
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    result = {}
    for row in rows.values("day", "category_id", "department_id", "channel", *COUNTERS):
        counts = {name: row[name] for name in COUNTERS}
        if any(counts.values()):
            result[(row["day"], row["category_id"], row["department_id"], row["channel"])] = counts
    return result


def counted(*, start: dt.date | None = None, end: dt.date | None = None) -> dict:
    """The roll-up as the cases say it should be: {key: counters}."""
    return {
        (row["day"], row["category_id"], row["department_id"], row["channel"]): {
            name: row[name] for name in COUNTERS
        }
        for row in _grouped(Case.objects.filter(_bounds(start, end)))
    }


def check(*, start: dt.date | None = None, end: dt.date | None = None) -> list[tuple]:
    """The keys whose kept counters differ from the cases: [(key, stored, counted)]."""
    kept, truth = stored(start=start, end=end), counted(start=start, end=end)
    return [
        (key, kept.get(key), truth.get(key))
        for key in sorted(set(kept) | set(truth), key=_order)
        if kept.get(key) != truth.get(key)
    ]


# -- reading ----------------------------------------------------------------------------


def kpis(*, group: str, start: dt.date, end: dt.date) -> list[KpiRow]:
    """``selectors.kpis`` from the roll-up: the same rows in the same order, reading at most
    one row per day, category, department and channel."""
    if group not in GROUPS:
        raise ValueError(group)
    field = GROUPS[group]
    rows = (
        CaseDayStat.objects.filter(day__gte=start, day__lte=end)
        .values(field)
        .annotate(
            total=Sum("received") - Sum("void"),
            **{name: Sum(name) for name in KPI_COUNTERS},
        )
        .filter(total__gt=0)
        .order_by(field)
    )
    return [kpi_row(row[field], row) for row in rows]


def volume(*, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Cases received per day in [start, end], void ones included; every day is a key (0
    when none came in), in order."""
    counts = dict(
        CaseDayStat.objects.filter(day__gte=start, day__lte=end)
        .values("day")
        .annotate(n=Sum("received"))
        .order_by()
        .values_list("day", "n")
    )
    days = (end - start).days + 1
    return {
        day: counts.get(day, 0)
        for day in (start + dt.timedelta(days=i) for i in range(max(days, 0)))
    }


def volume_by_month(year: int, as_of: dt.date) -> list[dict]:
    """Cases received (void included) per month of `year` up to `as_of`:
    ``[{"month": "2022-01", "n": 8000}, ...]``, the months begun by `as_of`."""
    months = [m for m in range(1, 13) if dt.date(year, m, 1) <= as_of]
    if not months:
        return []
    counts: dict[int, int] = {}
    rows = (
        CaseDayStat.objects.filter(day__gte=dt.date(year, 1, 1), day__lte=as_of)
        .filter(day__lte=dt.date(year, 12, 31))
        .values("day")
        .annotate(n=Sum("received"))
        .order_by()
        .values_list("day", "n")
    )
    for day, n in rows:
        counts[day.month] = counts.get(day.month, 0) + n
    return [{"month": f"{year}-{m:02d}", "n": counts.get(m, 0)} for m in months]

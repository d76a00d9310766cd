"""What the leader's cockpit shows, as of a date. Every aggregate is computed by the
database or from the plan status (itself a fixed number of queries); the other modules
are read through their own selectors."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from duban import clock
from duban.plans import pace
from duban.plans.models import Plan, ProgressReport, SupervisionNotice
from duban.plans.selectors import StatusRow, plan_status

STATUSES = (pace.GREEN, pace.YELLOW, pace.RED, pace.GREY)


@dataclass
class HeadlineCard:
    indicator: str
    level: StatusRow | None
    growth: StatusRow | None
    trend: list[tuple[str, float]]

    @property
    def main(self) -> StatusRow:
        return self.level or self.growth


def _headlines(rows: list[StatusRow], as_of: dt.date) -> list[HeadlineCard]:
    cards: dict[str, HeadlineCard] = {}
    for row in rows:
        c = row.commitment
        if not getattr(c, "headline", False) or c.measure not in ("level", "growth"):
            continue
        card = cards.setdefault(c.indicator, HeadlineCard(c.indicator, None, None, []))
        if c.measure == "level" and card.level is None:
            card.level = row
        elif c.measure == "growth" and card.growth is None:
            card.growth = row
    level_ids = {card.level.commitment.pk: card for card in cards.values() if card.level}
    if level_ids:
        cutoff = dt.datetime.combine(as_of, dt.time.max, tzinfo=timezone.get_default_timezone())
        reports = (
            ProgressReport.objects.filter(
                commitment_id__in=level_ids,
                status=ProgressReport.Status.APPROVED,
                reviewed_at__lte=cutoff,
                period_end__lte=as_of,
                value__isnull=False,
            )
            .order_by("commitment_id", "period_end", "version")
            .values_list("commitment_id", "period_end", "value")
        )
        latest: dict[int, dict[dt.date, float]] = defaultdict(dict)
        for commitment_id, period_end, value in reports:
            latest[commitment_id][period_end] = float(value)
        for commitment_id, card in level_ids.items():
            card.trend = [(d.isoformat(), v) for d, v in sorted(latest[commitment_id].items())]
    return list(cards.values())


def _counts_by(rows: list[StatusRow], key) -> list[dict]:
    table: dict[str, Counter] = {}
    ids: dict[str, object] = {}
    for row in rows:
        name, ident = key(row)
        table.setdefault(name, Counter())[row.status] += 1
        ids[name] = ident
    return [
        {"name": name, "id": ids[name], **{s: counts[s] for s in STATUSES}}
        for name, counts in table.items()
    ]


def _red_list(plan: Plan, rows: list[StatusRow], as_of: dt.date) -> list[dict]:
    items = []
    for row in rows:
        c = row.commitment
        url = reverse("plans:commitment", args=[c.pk])
        department = c.lead_department.name if c.lead_department else "—"
        if row.status == pace.RED:
            items.append(
                {
                    "kind": "commitment",
                    "label": c.indicator,
                    "detail": row.reason_text,
                    "department": department,
                    "url": url,
                }
            )
        if row.overdue_period is not None:
            items.append(
                {
                    "kind": "report",
                    "label": c.indicator,
                    "detail": row.overdue_period.isoformat(),
                    "department": department,
                    "url": url,
                }
            )
    cutoff = dt.datetime.combine(as_of, dt.time.max, tzinfo=timezone.get_default_timezone())
    for notice in SupervisionNotice.objects.filter(
        commitment__plan=plan,
        status=SupervisionNotice.Status.ISSUED,
        issued_at__lte=cutoff,
        reply_deadline__lt=as_of,
    ).select_related("department", "commitment")[:50]:
        items.append(
            {
                "kind": "notice",
                "label": notice.number,
                "detail": notice.commitment.indicator,
                "department": notice.department.name,
                "url": reverse("plans:notice", args=[notice.pk]),
            }
        )
    return items


def _projects(plan: Plan, as_of: dt.date) -> dict | None:
    try:
        from duban.projects.freshness import cached
    except ImportError:
        return None
    # Cached under the pipeline's version: a full pass over the pipeline costs as much as
    # the rest of the cockpit, and the pipeline changes a few times a day.
    return cached("cockpit", plan.year, as_of, compute=lambda: _pipeline(plan.year, as_of))


def _pipeline(year: int, as_of: dt.date) -> dict:
    from duban.projects import selectors as p
    from duban.projects.models import ProjectType

    late_projects = p.late_projects(year, as_of)
    late = [
        {
            "pk": project.pk,
            "name": project.name,
            "type_label": ProjectType(project.project_type).label,
            "department": project.lead_department.name if project.lead_department else "",
        }
        for project in late_projects.select_related("lead_department")[:10]
    ]
    # One pass over the year's reports serves the curve and the summary.
    monthly = p.completed_by_month(year, as_of)
    return {
        "funnel": p.funnel(year, as_of),
        "curve": p.investment_curve(year, as_of, monthly=monthly),
        "new_start_rate": p.new_start_rate_by_q3(year, as_of),
        "investment": p.investment_summary(year, as_of, monthly=monthly),
        "late": late,
        "late_count": late_projects.count(),
    }


def _cases(plan: Plan, as_of: dt.date) -> dict | None:
    try:
        from duban.cases import rollup
        from duban.cases import selectors as s
        from duban.cases.models import overdue_counts
    except ImportError:
        return None
    start = dt.date(plan.year, 1, 1)
    # From the daily roll-up, kept by every case write: a read that does not grow with
    # the number of cases.
    volume = rollup.volume_by_month(plan.year, as_of)
    # Rates over the last 30 days: what a leader acts on.
    window_start = max(start, as_of - dt.timedelta(days=29))
    by_category = sorted(
        rollup.kpis(group="category", start=window_start, end=as_of), key=lambda r: -r.total
    )
    overall = _overall(by_category)
    with clock.as_of(as_of):
        by_department, by_street = overdue_counts(clock.now())
    overdue = s.overdue_by_department(by_department)
    streets = Counter(by_street)
    return {
        "volume": volume,
        "top_categories": by_category[:8],
        "overall": overall,
        "overdue": overdue,
        "window_start": window_start,
        "hot_spots": streets.most_common(8),
    }


def _overall(rows) -> dict:
    def mean(attr):
        pairs = [
            (getattr(r, attr), r.dispatched or r.total)
            for r in rows
            if getattr(r, attr) is not None
        ]
        weight = sum(w for _, w in pairs)
        return None if not weight else sum(v * w for v, w in pairs) / weight

    return {
        "total": sum(r.total for r in rows),
        "response_rate": mean("response_rate"),
        "resolution_rate": mean("resolution_rate"),
        "satisfaction_rate": mean("satisfaction_rate"),
    }


def cockpit(plan: Plan, as_of: dt.date | None = None) -> dict:
    as_of = as_of or clock.today()
    status = plan_status(plan, as_of=as_of)
    rows = status.rows
    return {
        "plan": plan,
        "as_of": as_of,
        "status": status,
        "counts": status.counts,
        "headlines": _headlines(rows, as_of),
        "by_section": _counts_by(
            rows, lambda r: (r.commitment.section or "—", r.commitment.section)
        ),
        "by_department": _counts_by(
            rows,
            lambda r: (
                r.commitment.lead_department.name if r.commitment.lead_department else "—",
                r.commitment.lead_department_id,
            ),
        ),
        "red_list": _red_list(plan, rows, as_of),
        "projects": _projects(plan, as_of),
        "cases": _cases(plan, as_of),
        "total": len(rows),
        "pace": Decimal(
            pace.expected_fraction(
                pace.Target(
                    "level",
                    "eq",
                    Decimal(1),
                    None,
                    dt.date(plan.year, 12, 31),
                    dt.date(plan.year, 1, 1),
                ),
                as_of,
            )
        ),
    }

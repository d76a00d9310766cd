"""Reads of the plans module for pages."""

from __future__ import annotations

import datetime as dt
import gc
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.db import connections
from django.db.models import Count, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.sql.constants import MULTI
from django.utils import timezone

from duban import clock
from duban.accounts.models import Department
from duban.plans import freshness, pace
from duban.plans.metrics import metric_value
from duban.plans.models import (
    Commitment,
    DataSource,
    PaceProfile,
    Plan,
    ProgressReport,
    Proposal,
    ReportImport,
)


@dataclass
class Segment:
    text: str
    positions: list[
        int
    ]  # proposal positions whose clause covers this segment; empty for plain text


def source_segments(text: str, proposals: list[Proposal]) -> list[Segment]:
    """Split the report into plain runs and highlighted clauses. Clauses that overlap are
    joined into one highlight that names every proposal it carries."""
    spans = sorted(
        (p.start, p.end, p.position) for p in proposals if 0 <= p.start < p.end <= len(text)
    )
    merged: list[list] = []
    for start, end, position in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].append(position)
        else:
            merged.append([start, end, [position]])
    segments = []
    cursor = 0
    for start, end, positions in merged:
        if start > cursor:
            segments.append(Segment(text[cursor:start], []))
        segments.append(Segment(text[start:end], positions))
        cursor = end
    if cursor < len(text):
        segments.append(Segment(text[cursor:], []))
    return segments


def review_page(report_import: ReportImport) -> dict:
    proposals = list(report_import.proposals.select_related("merged_into").order_by("position"))
    counts = {d: 0 for d, _ in Proposal.Decision.choices}
    for p in proposals:
        counts[p.decision] += 1
    return {
        "report_import": report_import,
        "proposals": proposals,
        "segments": source_segments(report_import.text, proposals),
        "counts": counts,
    }


def imports_for(plan: Plan):
    return plan.imports.annotate(n_proposals=Count("proposals")).order_by("-created_at")


# --- status as of a date -------------------------------------------------------------


@dataclass(slots=True)
class StatusRow:
    commitment: CommitmentSummary
    assessment: pace.Assessment
    latest_value: Decimal | None
    latest_period: dt.date | None
    latest_done: dt.date | None
    latest_filed: dt.date | None
    overdue_period: dt.date | None

    @property
    def status(self) -> str:
        return self.assessment.status

    @property
    def reason_text(self) -> str:
        return str(self.assessment.reason)

    def filed(self, period: dt.date) -> bool:
        return self.latest_filed is not None and self.latest_filed >= period

    @property
    def pace_percent(self) -> int:
        return int(self.assessment.expected_fraction * 100)

    @property
    def progress_percent(self) -> int | None:
        p = self.assessment.progress
        if p is None:
            return None
        return max(0, min(int(p * self.assessment.expected_fraction * 100), 100))


@dataclass
class PlanStatus:
    plan: Plan
    as_of: dt.date
    rows: list[StatusRow]

    @property
    def counts(self) -> dict[str, int]:
        result = {pace.GREEN: 0, pace.YELLOW: 0, pace.RED: 0, pace.GREY: 0, "overdue": 0}
        for row in self.rows:
            result[row.status] += 1
            if row.overdue_period is not None:
                result["overdue"] += 1
        return result


@lru_cache(maxsize=16)
def _year_start(year: int) -> dt.date:
    return dt.date(year, 1, 1)


@lru_cache(maxsize=16)
def _year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def target_for(commitment: Commitment, plan: Plan) -> pace.Target:
    values = commitment.pace_values or None
    profile = monthly_plan = None
    if values and commitment.pace_profile == PaceProfile.SEASONAL:
        profile = pace.seasonal_profile([Decimal(str(v)) for v in values])
    elif values and commitment.pace_profile == PaceProfile.PLAN:
        monthly_plan = tuple(None if v in (None, "") else Decimal(str(v)) for v in values)
    return pace.Target(
        measure=commitment.measure,
        comparator=commitment.comparator,
        value=commitment.value,
        upper=commitment.upper,
        deadline=commitment.deadline or _year_end(plan.year),
        year_start=_year_start(plan.year),
        baseline=commitment.baseline_value,
        from_baseline=commitment.from_baseline,
        profile=profile,
        monthly_plan=monthly_plan,
    )


# The fields the status of a commitment depends on, and that lists show.
STATUS_FIELDS = (
    "id",
    "section",
    "indicator",
    "measure",
    "comparator",
    "value",
    "upper",
    "unit",
    "deadline",
    "baseline_value",
    "from_baseline",
    "pace_profile",
    "pace_values",
    "cadence",
    "data_source",
    "metric",
    "headline",
    "lead_department_id",
)


@dataclass(slots=True)
class CommitmentSummary:
    """A commitment as lists and statuses need it. Read with values_list: building full
    model instances for thousands of rows cost more than all the rest of the status."""

    id: int
    section: str
    indicator: str
    measure: str
    comparator: str | None
    value: Decimal | None
    upper: Decimal | None
    unit: str | None
    deadline: dt.date | None
    baseline_value: Decimal | None
    from_baseline: bool
    pace_profile: str
    pace_values: list | None
    cadence: str
    data_source: str
    metric: str
    headline: bool
    lead_department_id: int | None
    lead_department: Department | None = None

    @property
    def pk(self) -> int:
        return self.id


def _status_queryset(plan: Plan, as_of: dt.date):
    """The plan's commitments with their latest approved report as of the date joined in
    (one lookup of the report per commitment, then a join on its key, rather than one
    correlated lookup per column) and the latest period filed."""
    cutoff = dt.datetime.combine(as_of, dt.time.max, tzinfo=timezone.get_default_timezone())
    approved = (
        ProgressReport.objects.filter(
            commitment=OuterRef("pk"),
            status=ProgressReport.Status.APPROVED,
            reviewed_at__lte=cutoff,
            period_end__lte=as_of,
        )
        .order_by("-period_end", "-version")
        .values("id")[:1]
    )
    filed = (
        ProgressReport.objects.filter(
            commitment=OuterRef("pk"),
            status__in=[ProgressReport.Status.SUBMITTED, ProgressReport.Status.APPROVED],
            submitted_at__lte=cutoff,
        )
        .order_by("-period_end")
        .values("period_end")[:1]
    )
    return (
        Commitment.objects.filter(plan=plan)
        .annotate(
            latest=FilteredRelation("reports", condition=Q(reports__id=Subquery(approved))),
            latest_filed=Subquery(filed),
        )
        .order_by("id")
    )


def plan_status(
    plan: Plan,
    *,
    department_id: int | None = None,
    status: str | None = None,
    as_of: dt.date | None = None,
    commitment_id: int | None = None,
    lead_only: bool = False,
) -> PlanStatus:
    """Every commitment of the plan with its status as of a date, in a fixed number of
    queries whatever the plan's size. The whole plan's rows are remembered by the worker
    under the plans' and the pipeline's stamps (freshness.py); a department's or one
    commitment's are computed each time (they are few), from the rows memoised by
    _status_rows."""
    as_of = as_of or clock.today()
    if department_id is None and commitment_id is None:
        # The plan's year and thresholds are in the key: the plan was read before the
        # stamps, and a change committed in between must not be remembered as current.
        identity = (plan.pk, plan.year, plan.thresholds())
        rows = freshness.remembered(identity, as_of, lambda: _status_rows(plan, as_of=as_of))
    else:
        rows = _status_rows(
            plan,
            as_of=as_of,
            department_id=department_id,
            commitment_id=commitment_id,
            lead_only=lead_only,
        )
    if status is not None:
        rows = [
            row
            for row in rows
            if row.status == status or (status == "overdue" and row.overdue_period)
        ]
    return PlanStatus(plan, as_of, rows)


# Two memos make the first view after a write, or of another day, cheap. Both are keyed
# by the database row each entry came from, before any conversion (the commitment's
# fields, its latest approved report and latest filing as of the day):
# - _prepared: the row converted (Decimal, date, JSON) into a summary and a pace target,
#   which depend on nothing else but the plan's year and the departments;
# - _assessed: the row's status, a pure function of the row, the day and the plan's
#   thresholds (and, through the prepared row, the year and the departments).
# With all of that in their keys, a row that has not changed is reused as it is. After a
# report is approved, the first view of a 5,000-commitment plan reads the rows and
# converts and assesses only the one that changed; a view of another day assesses every
# row again but converts none. Figures computed from Duban's own data (a pipeline metric)
# are never reused assessed: they change without their row changing.
_prepared = freshness.Memo(size=2)  # plans per worker
_assessed = freshness.Memo(
    size=4
)  # (plan, day) pairs per worker, as freshness.remembered keeps a few


def memo_clear() -> None:
    """Forget every memoised row (tests and the benchmark's cold path)."""
    _prepared.clear()
    _assessed.clear()


@dataclass(slots=True)
class _Prepared:
    commitment: CommitmentSummary
    target: pace.Target
    latest_value: Decimal | None
    latest_period: dt.date | None
    latest_done: dt.date | None
    latest_filed: dt.date | None


_COLUMNS = (*STATUS_FIELDS, "latest__value", "latest__period_end", "latest__done_date")
_COLUMNS += ("latest_filed",)
_DATA_SOURCE = STATUS_FIELDS.index("data_source")
# Plain strings: comparing with the enum's members costs an attribute lookup on the enum
# class per row.
_COMPUTED, _MANUAL = DataSource.COMPUTED.value, DataSource.MANUAL.value


def _status_rows(
    plan: Plan,
    *,
    as_of: dt.date,
    department_id: int | None = None,
    commitment_id: int | None = None,
    lead_only: bool = False,
) -> list[StatusRow]:
    thresholds = plan.thresholds()
    queryset = _status_queryset(plan, as_of)
    whole_plan = commitment_id is None and department_id is None
    if commitment_id is not None:
        queryset = queryset.filter(pk=commitment_id)
    if department_id is not None and lead_only:
        queryset = queryset.filter(lead_department_id=department_id)
    elif department_id is not None:
        queryset = queryset.filter(
            Q(lead_department_id=department_id)
            | Q(
                pk__in=Commitment.co_departments.through.objects.filter(
                    department_id=department_id
                ).values("commitment_id")
            )
        )
    # Departments are few: one query and a dict, rather than a join per row.
    departments = {d.pk: d for d in Department.objects.all()}
    fields = [f.attname for f in Department._meta.concrete_fields]
    departments_seen = tuple(
        tuple(getattr(d, name) for name in fields) for d in departments.values()
    )
    values = queryset.values_list(*_COLUMNS)
    compiler = values.query.get_compiler(values.db)
    plan_key = (values.db, connections[values.db].settings_dict["NAME"], plan.pk, plan.year)
    plan_key += (departments_seen,)
    day_key = (*plan_key, as_of, thresholds)
    prepared_before = _prepared.get(plan_key, {})
    assessed_before = _assessed.get(day_key, {})
    # Tens of thousands of objects, none in a reference cycle: the collector's passes
    # while they are made (a full one now and then) found nothing and cost about a tenth
    # of the computation.
    with _collector_paused():
        # Rows as the database returns them: the memos' keys. Only rows not prepared
        # before go through Django's converters (Decimal, date, JSON), which cost as much
        # as the query.
        raw_rows = [row for chunk in compiler.execute_sql(MULTI) for row in chunk]
        keys = [raw if _hashable(raw) else None for raw in raw_rows]
        found = [prepared_before.get(key) if key is not None else None for key in keys]
        misses = [raw for raw, prepared in zip(raw_rows, found, strict=True) if prepared is None]
        converted = iter(compiler.results_iter(results=[misses], tuple_expected=True))
        prepared_now, assessed_now = {}, {}
        metrics: dict = {}  # each metric once per build, however many commitments use it
        rows = []
        for key, prepared in zip(keys, found, strict=True):
            if prepared is None:
                prepared = _prepare(next(converted), plan, departments)
            reuse = key is not None and prepared.commitment.data_source != _COMPUTED
            row = assessed_before.get(key) if reuse else None
            if row is None:
                row = _assess(prepared, plan, as_of, thresholds, metrics)
            if key is not None:
                prepared_now[key] = prepared
            if reuse:
                assessed_now[key] = row
            rows.append(row)
    if whole_plan:
        _prepared.put(plan_key, prepared_now)
        _assessed.put(day_key, assessed_now)
    return rows


@contextmanager
def _collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _hashable(raw: tuple) -> bool:
    try:
        hash(raw)
    except TypeError:  # a driver that returns JSON as a list
        return False
    return True


def _prepare(values: tuple, plan: Plan, departments: dict) -> _Prepared:
    width = len(STATUS_FIELDS)
    c = CommitmentSummary(*values[:width])
    c.lead_department = departments.get(c.lead_department_id)
    return _Prepared(c, target_for(c, plan), *values[width:])


def _assess(
    prepared: _Prepared,
    plan: Plan,
    as_of: dt.date,
    thresholds: pace.Thresholds,
    metrics: dict | None = None,
) -> StatusRow:
    c, target = prepared.commitment, prepared.target
    latest_value, latest_period = prepared.latest_value, prepared.latest_period
    latest_done, latest_filed = prepared.latest_done, prepared.latest_filed
    if c.data_source == _COMPUTED and c.metric:
        metrics = {} if metrics is None else metrics
        if c.metric not in metrics:
            metrics[c.metric] = metric_value(c.metric, plan.year, as_of)
        latest_value, latest_period = metrics[c.metric], as_of
    observation = None
    if latest_period is not None:
        observation = pace.Observation(latest_period, latest_value, latest_done)
    assessment = pace.assess(target, observation, as_of, thresholds)
    overdue = None
    # Figures are reported every period until achieved; milestones report their done
    # date, and an undone one shows in its status instead.
    if c.data_source == _MANUAL and c.measure != "milestone" and not assessment.achieved:
        due = pace.last_due_period(plan.year, c.cadence, as_of, target.deadline, thresholds)
        if due is not None and (latest_filed is None or latest_filed < due):
            overdue = due
    return StatusRow(c, assessment, latest_value, latest_period, latest_done, latest_filed, overdue)


def group_by_section(rows: list[StatusRow]) -> list[tuple[str, list[StatusRow]]]:
    """Rows grouped under their section headings, in the order the report gives them."""
    order: dict[str, list[StatusRow]] = {}
    for row in rows:
        order.setdefault(row.commitment.section, []).append(row)
    return list(order.items())

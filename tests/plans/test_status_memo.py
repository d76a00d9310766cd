"""The status of a plan's rows is memoised by the database row it came from: after a write,
only the rows that changed are converted and assessed again, and the result is the same as
assessing every row from scratch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models.sql.constants import MULTI

from duban.plans import selectors
from duban.plans.models import Commitment, PaceProfile, ProgressReport
from tests.plans.factories import approved_report, make_commitment, make_plan

SEP = dt.date(2022, 9, 30)


def _fresh(plan, as_of):
    selectors.memo_clear()
    rows = selectors._status_rows(plan, as_of=as_of)
    selectors.memo_clear()
    return rows


def _seen(row):
    a = row.assessment
    return (
        row.commitment.id,
        row.commitment.lead_department and row.commitment.lead_department.name,
        a.status,
        str(a.reason),
        a.expected_value,
        a.progress,
        a.forecast,
        row.latest_value,
        row.latest_period,
        row.latest_filed,
        row.overdue_period,
    )


def _plan_of_every_kind(dept, other_dept):
    plan = make_plan(2022)
    parking = make_commitment(plan, dept, key="parking", value=Decimal(6000))
    growth = make_commitment(
        plan, dept, key="gdp", measure="growth", comparator="ge", value=Decimal(8), unit="%"
    )
    ceiling = make_commitment(
        plan, other_dept, key="jobless", measure="share", comparator="le", value=Decimal("5.5")
    )
    island = make_commitment(
        plan,
        other_dept,
        key="island",
        measure="milestone",
        comparator=None,
        value=None,
        unit=None,
        deadline=dt.date(2022, 3, 10),
    )
    seasonal = make_commitment(
        plan,
        dept,
        key="retail",
        pace_profile=PaceProfile.SEASONAL,
        pace_values=[1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4],
    )
    for month in (6, 7, 8):
        period = dt.date(2022, month + 1, 1) - dt.timedelta(days=1)
        approved_report(parking, period, 500 * month)
        approved_report(growth, period, Decimal("7.5"))
        approved_report(ceiling, period, Decimal("5.8"))
        approved_report(seasonal, period, 300 * month)
    return plan, parking, growth, ceiling, island, seasonal


def test_rows_not_written_are_reused_and_the_result_is_as_from_scratch(db, dept, other_dept):
    plan, parking, growth, ceiling, island, seasonal = _plan_of_every_kind(dept, other_dept)
    first = selectors._status_rows(plan, as_of=SEP)
    assert [_seen(r) for r in first] == [_seen(r) for r in _fresh(plan, SEP)]
    first = selectors._status_rows(plan, as_of=SEP)  # the memo filled again

    approved_report(parking, dt.date(2022, 9, 30), 4600, approved_on=SEP)  # a new report
    Commitment.objects.filter(pk=ceiling.pk).update(value=Decimal(6))  # no signal sent
    ProgressReport.objects.filter(commitment=growth).update(value=Decimal("9.1"))
    island_report = approved_report(island, dt.date(2022, 3, 31), done_date=dt.date(2022, 3, 8))

    again = selectors._status_rows(plan, as_of=SEP)
    by_id = {r.commitment.id: r for r in first}
    for row in again:
        changed = row.commitment.id in {parking.pk, ceiling.pk, growth.pk, island.pk}
        assert (row is by_id[row.commitment.id]) is not changed, row.commitment.indicator
    assert [_seen(r) for r in again] == [_seen(r) for r in _fresh(plan, SEP)]
    statuses = {r.commitment.id: r.status for r in again}
    assert statuses[parking.pk] == "green" and statuses[growth.pk] == "green"
    assert statuses[ceiling.pk] == "green" and statuses[island.pk] == "green"
    assert island_report.done_date == again[3].latest_done


def test_memoised_rows_hold_converted_values(db, dept, other_dept):
    plan, parking, *_ = _plan_of_every_kind(dept, other_dept)
    selectors._status_rows(plan, as_of=SEP)
    row = next(r for r in selectors._status_rows(plan, as_of=SEP) if r.commitment.id == parking.pk)
    assert row.latest_value == Decimal(4000) and isinstance(row.latest_value, Decimal)
    assert row.latest_period == dt.date(2022, 8, 31)
    assert isinstance(row.commitment.deadline, dt.date)
    assert isinstance(row.commitment.value, Decimal)


def test_the_memo_is_per_day_thresholds_and_departments(db, dept, other_dept):
    plan, parking, *_, seasonal = _plan_of_every_kind(dept, other_dept)
    assert (
        next(
            r for r in selectors._status_rows(plan, as_of=SEP) if r.commitment.id == seasonal.pk
        ).status
        == "red"
    )
    early = selectors._status_rows(plan, as_of=dt.date(2022, 7, 15))
    assert [_seen(r) for r in early] == [_seen(r) for r in _fresh(plan, dt.date(2022, 7, 15))]
    selectors._status_rows(plan, as_of=SEP)
    plan.yellow_ratio = Decimal("0.1")
    plan.save()
    lenient = selectors._status_rows(plan, as_of=SEP)
    assert [_seen(r) for r in lenient] == [_seen(r) for r in _fresh(plan, SEP)]
    assert next(r for r in lenient if r.commitment.id == seasonal.pk).status == "yellow"
    dept.name = "停车管理中心"
    dept.save()
    renamed = selectors._status_rows(plan, as_of=SEP)
    assert (
        next(r for r in renamed if r.commitment.id == parking.pk).commitment.lead_department.name
        == "停车管理中心"
    )


def test_a_department_view_reads_the_memo_without_replacing_it(db, dept, other_dept):
    plan, parking, *_ = _plan_of_every_kind(dept, other_dept)
    whole = selectors._status_rows(plan, as_of=SEP)
    mine = selectors._status_rows(plan, as_of=SEP, department_id=dept.pk)
    assert {r.commitment.id for r in mine} < {r.commitment.id for r in whole}
    assert all(any(r is w for w in whole) for r in mine)
    again = selectors._status_rows(plan, as_of=SEP)
    assert all(a is b for a, b in zip(again, whole, strict=True))


def test_the_collector_is_paused_only_while_rows_are_built(db, dept, other_dept, monkeypatch):
    import gc

    plan, *_ = _plan_of_every_kind(dept, other_dept)
    seen = []
    real = selectors._assess

    def spy(*args):
        seen.append(gc.isenabled())
        return real(*args)

    monkeypatch.setattr(selectors, "_assess", spy)
    selectors.memo_clear()
    selectors._status_rows(plan, as_of=SEP)
    assert seen and not any(seen) and gc.isenabled()

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "_assess", broken)
    selectors.memo_clear()
    with pytest.raises(RuntimeError):
        selectors._status_rows(plan, as_of=SEP)
    assert gc.isenabled()  # back on after a failure too
    gc.disable()
    try:
        monkeypatch.setattr(selectors, "_assess", real)
        selectors.memo_clear()
        selectors._status_rows(plan, as_of=SEP)
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()


def test_another_day_assesses_again_but_converts_nothing(db, dept, other_dept):
    plan, parking, growth, *_ = _plan_of_every_kind(dept, other_dept)
    selectors.memo_clear()
    september = selectors._status_rows(plan, as_of=SEP)
    october = selectors._status_rows(plan, as_of=dt.date(2022, 10, 20))
    for a, b in zip(september, october, strict=True):
        assert a is not b  # assessed for the day
        assert a.commitment is b.commitment  # the same converted row
    # A report approved in between changes that row's input: converted again.
    approved_report(parking, dt.date(2022, 9, 30), 5000, approved_on=dt.date(2022, 10, 5))
    later = selectors._status_rows(plan, as_of=dt.date(2022, 10, 21))
    by_id = {r.commitment.id: r for r in october}
    for row in later:
        same = row.commitment is by_id[row.commitment.id].commitment
        assert same is (row.commitment.id != parking.pk)
    assert [_seen(r) for r in later] == [_seen(r) for r in _fresh(plan, dt.date(2022, 10, 21))]


def test_a_plan_read_before_its_change_is_not_remembered_as_current(db, dept, other_dept):
    from duban.plans.models import Plan

    plan, *_, seasonal = _plan_of_every_kind(dept, other_dept)
    stale = Plan.objects.get(pk=plan.pk)  # a request read the plan ...
    Plan.objects.filter(pk=plan.pk).update(yellow_ratio=Decimal("0.1"))  # ... then this committed
    old = selectors.plan_status(stale, as_of=SEP).rows  # computed with the old thresholds
    assert next(r for r in old if r.commitment.id == seasonal.pk).status == "red"
    current = selectors.plan_status(Plan.objects.get(pk=plan.pk), as_of=SEP).rows
    assert next(r for r in current if r.commitment.id == seasonal.pk).status == "yellow"


def test_raw_rows_are_in_the_order_of_the_columns(db, dept, other_dept):
    # The memos convert raw rows with the compiler's converters, by position: the raw row
    # must be in the order values_list gives, or values would land in the wrong fields.
    plan, *_ = _plan_of_every_kind(dept, other_dept)
    values = selectors._status_queryset(plan, SEP).values_list(*selectors._COLUMNS)
    compiler = values.query.get_compiler(values.db)
    raw = [row for chunk in compiler.execute_sql(MULTI) for row in chunk]
    converted = list(compiler.results_iter(results=[raw], tuple_expected=True))
    assert converted == list(values.all())
    assert len(converted[0]) == len(selectors._COLUMNS)


def test_a_metric_is_read_once_per_build_however_many_commitments_use_it(db, dept, monkeypatch):
    plan = make_plan(2022)
    for n in range(4):
        make_commitment(
            plan,
            dept,
            key=f"m{n}",
            data_source="computed",
            metric="projects.new_start_rate",
            measure="share",
            unit="%",
            value=Decimal(90),
        )
    calls = []

    def metric(key, year, as_of):
        calls.append((key, year, as_of))
        return Decimal(45)

    monkeypatch.setattr(selectors, "metric_value", metric)
    rows = selectors._status_rows(plan, as_of=SEP)
    assert calls == [("projects.new_start_rate", 2022, SEP)]
    assert {r.latest_value for r in rows} == {Decimal(45)} and len(rows) == 4
    selectors._status_rows(plan, as_of=SEP)  # computed figures are read again each build
    assert len(calls) == 2

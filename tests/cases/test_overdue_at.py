"""Case.overdue_at, kept by every save and by overdue_at_refresh() after bulk loads, picks
exactly the cases the definition of 'overdue' picks: open, clock running, and past the
response deadline (not yet responded) or the resolution deadline (not yet resolved)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Q

from duban.cases import lights, selectors, services
from duban.cases.models import (
    RUNNING_STATUSES,
    Case,
    OverdueMonth,
    Status,
    overdue_at_of,
    overdue_at_refresh,
    overdue_counts,
    overdue_key,
    overdue_month_rebuild,
    street_of,
)

from .conftest import at
from .test_workflow import walk_to


def _by_definition(now: dt.datetime) -> set[int]:
    return set(
        Case.objects.filter(
            Q(status__in=RUNNING_STATUSES) & lights.overdue_condition(now)
        ).values_list("id", flat=True)
    )


def _by_index(now: dt.datetime) -> set[int]:
    return set(Case.objects.filter(lights.overdue_q(now)).values_list("id", flat=True))


def _buckets() -> dict:
    return {(b.month, b.department_key, b.street): b.n for b in OverdueMonth.objects.all() if b.n}


def _check_counts(now: dt.datetime) -> None:
    """The monthly buckets plus the current month's range count what the definition
    counts, by department and by street."""
    cases = Case.objects.filter(pk__in=_by_definition(now))
    departments = Counter(c.department_id for c in cases)
    streets = Counter(street_of(c.address) for c in cases)
    by_department, by_street = overdue_counts(now)
    assert by_department == dict(departments), now
    assert by_street == {k: v for k, v in streets.items() if k}, now


def test_overdue_at_agrees_with_the_definition_in_every_state(
    time_machine, make_case, planner, owner, other_dept
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)  # Monday
    received = make_case().case
    dispatched = walk_to(make_case().case, Status.DISPATCHED, planner=planner, owner=owner)
    responded = walk_to(make_case().case, Status.RESPONDED, planner=planner, owner=owner)
    resolved = walk_to(make_case().case, Status.RESOLVED, planner=planner, owner=owner)
    closed = walk_to(make_case().case, Status.CLOSED, planner=planner, owner=owner)
    suspended = walk_to(make_case().case, Status.RESPONDED, planner=planner, owner=owner)
    services.case_request(case=suspended, actor=owner, kind="suspension", reason="等待答复")
    services.case_decide(case=suspended, actor=planner, approve=True)
    extended = walk_to(make_case().case, Status.RESPONDED, planner=planner, owner=owner)
    services.case_request(case=extended, actor=owner, kind="extension", reason="需要施工", amount=3)
    services.case_decide(case=extended, actor=planner, approve=True)
    void = make_case().case
    services.case_void(case=void, actor=planner, reason="重复提交")
    stored = {c.pk: c.overdue_at for c in Case.objects.all()}
    assert stored[closed.pk] is None and stored[void.pk] is None
    assert stored[suspended.pk] is None and stored[resolved.pk] is None
    assert stored[received.pk] == Case.objects.get(pk=received.pk).response_deadline
    # The SQL of bulk loads gives what save() gives.
    Case.objects.update(overdue_at=None)
    overdue_at_refresh()
    assert {c.pk: c.overdue_at for c in Case.objects.all()} == stored
    assert all(overdue_at_of(c) == c.overdue_at for c in Case.objects.all())
    # Before, at and after each deadline, the index picks what the definition picks.
    moments = {at(2022, 9, 26, 9), at(2022, 10, 20, 9)}
    for case in Case.objects.all():
        for deadline in (case.response_deadline, case.resolution_deadline):
            if deadline is not None:
                moments |= {deadline - dt.timedelta(seconds=1), deadline}
    kept = _buckets()
    overdue_month_rebuild()
    assert _buckets() == kept  # what save() kept is what a recount gives
    for now in sorted(moments):
        assert _by_index(now) == _by_definition(now), now
        _check_counts(now)
    assert _by_index(at(2022, 10, 20, 9)) == {received.pk, dispatched.pk, responded.pk, extended.pk}
    # The suspended case comes back with its clock and its overdue point.
    time_machine.move_to(at(2022, 9, 27, 9), tick=False)
    resumed = services.case_resume(case=Case.objects.get(pk=suspended.pk), actor=owner)
    assert resumed.overdue_at == resumed.resolution_deadline
    assert Case.objects.get(pk=suspended.pk).overdue_at == resumed.resolution_deadline
    kept = _buckets()
    overdue_month_rebuild()
    assert _buckets() == kept
    for now in (at(2022, 10, 1, 9), at(2022, 11, 2, 9), at(2023, 1, 5, 9)):
        _check_counts(now)


def test_overdue_by_department_counts_from_the_index(time_machine, make_case, planner, owner):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    walk_to(make_case().case, Status.DISPATCHED, planner=planner, owner=owner)
    walk_to(make_case().case, Status.RESPONDED, planner=planner, owner=owner)
    make_case()
    time_machine.move_to(at(2022, 10, 20, 9), tick=False)
    rows = selectors.overdue_by_department()
    counts = {row["department__code"]: row["n"] for row in rows}
    assert counts == {"chengguan": 2, None: 1}
    assert sum(counts.values()) == len(_by_definition(at(2022, 10, 20, 9)))


def test_buckets_follow_a_case_returned_and_dispatched_elsewhere(
    time_machine, make_case, planner, owner, other_dept
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    case = walk_to(make_case().case, Status.ACCEPTED, planner=planner, owner=owner)
    before = _buckets()
    services.case_request(case=case, actor=owner, kind="return", reason="不属于本单位职责")
    case = services.case_decide(case=case, actor=planner, approve=True)
    case = services.case_dispatch(case=case, actor=planner, department=other_dept)
    after = _buckets()
    assert after != before and any(key[1] == other_dept.pk for key in after)
    overdue_month_rebuild()
    assert _buckets() == after
    _check_counts(at(2022, 11, 1, 9))


def test_hot_spots_drill_down_to_the_overdue_cases_of_the_street(
    client, time_machine, make_case, planner, owner
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    for address in ("祥盛街12号", "祥盛街40号", "如意湖街道商务外环路3号"):
        walk_to(make_case(address=address).case, Status.DISPATCHED, planner=planner, owner=owner)
    walk_to(make_case(address="祥盛街7号").case, Status.CLOSED, planner=planner, owner=owner)
    time_machine.move_to(at(2022, 10, 20, 9), tick=False)
    _, by_street = overdue_counts(at(2022, 10, 20, 9))
    assert by_street == {"祥盛街": 2, "如意湖街道": 1}
    client.force_login(planner)
    page = client.get("/cases/queue/", {"scope": "overdue", "street": "祥盛街"})
    assert page.status_code == 200
    rows = page.context["page"].rows
    assert len(rows) == 2 and all(r.street == "祥盛街" for r in rows)
    assert "street=%E7%A5%A5%E7%9B%9B%E8%A1%97" in page.context["query"]


def test_a_case_loaded_without_its_bucket_fields_still_moves_its_count(
    time_machine, make_case, planner, owner
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    case = walk_to(make_case().case, Status.DISPATCHED, planner=planner, owner=owner)
    kept = _buckets()
    partial = Case.objects.only("id", "status", "description").get(pk=case.pk)
    partial.description = "补充说明"
    partial.save()
    assert _buckets() == kept  # moved out of and back into the same bucket, not doubled
    overdue_month_rebuild()
    assert _buckets() == kept


def test_the_stored_bucket_is_read_only_when_a_save_needs_it(
    time_machine, make_case, planner, owner, django_assert_num_queries
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    case = walk_to(make_case().case, Status.DISPATCHED, planner=planner, owner=owner)
    loaded = Case.objects.get(pk=case.pk)
    with django_assert_num_queries(0):  # kept as loaded
        assert loaded._stored_overdue_key() == overdue_key(case)
    partial = Case.objects.only("id", "status").get(pk=case.pk)
    with django_assert_num_queries(1):  # a deferred field's own load, nothing more
        assert partial.description
    with django_assert_num_queries(1):  # not loaded: read from the row when saving
        assert partial._stored_overdue_key() == overdue_key(case)

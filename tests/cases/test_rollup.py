"""The daily KPI roll-up: kept incrementally by every write of a case, it gives what
`selectors.kpis` counts from the cases, after every step of every path."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duban.accounts.models import Department
from duban.cases import rollup, selectors, services
from duban.cases.models import Case, CaseDayStat, Channel, Status

from .conftest import at

pytestmark = pytest.mark.django_db

GROUPS = ("department", "category", "channel")


def windows(cases=None):
    """Day ranges to compare: the whole span, and each day a case came in."""
    days = sorted({rollup.local_day(c.received_at) for c in Case.objects.all()})
    if not days:
        return [(dt.date(2022, 1, 1), dt.date(2022, 12, 31))]
    result = [(days[0] - dt.timedelta(days=1), days[-1] + dt.timedelta(days=1))]
    result += [(d, d) for d in days[:4]]
    if len(days) > 2:
        result.append((days[1], days[-1]))
    return result


def assert_consistent():
    """The roll-up equals what the cases say: per key, through the KPI API, and as a rebuild
    would make it."""
    assert rollup.check() == []
    for start, end in windows():
        for group in GROUPS:
            assert rollup.kpis(group=group, start=start, end=end) == selectors.kpis(
                group=group, start=start, end=end
            ), (group, start, end)
        expected = {}
        for case in Case.objects.all():
            day = rollup.local_day(case.received_at)
            if start <= day <= end:
                expected[day] = expected.get(day, 0) + 1
        assert {d: n for d, n in rollup.volume(start=start, end=end).items() if n} == expected


def assert_rebuild_is_the_same():
    kept = rollup.stored()
    rollup.rebuild()
    assert rollup.stored() == kept


@pytest.fixture
def late_category(other_dept, planner):
    """A second service: another department, the clock starting at dispatch, hours."""
    return services.category_save(
        actor=planner,
        code="labour",
        name="劳动保障",
        default_department=other_dept,
        response_limit=4,
        response_unit="hours",
        resolution_limit=2,
        resolution_unit="working_days",
        clock_start="dispatch",
    )


def test_every_path_keeps_the_rollup_exact(
    time_machine, make_case, category, late_category, planner, owner, outsider, other_dept, dept
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)  # Monday
    check = assert_consistent
    # Every channel; one received just after local midnight (the day before in UTC).
    cases = {}
    for channel in Channel.values:
        cases[channel] = make_case(channel=channel).case
        check()
    time_machine.move_to(at(2022, 9, 27, 0, 30), tick=False)
    midnight = make_case(channel="hotline", register=True).case
    assert rollup.local_day(midnight.received_at) == dt.date(2022, 9, 27)
    check()
    time_machine.move_to(at(2022, 9, 27, 9), tick=False)

    # register, correcting the service (the key moves to the other category)
    web = services.case_register(case=cases["web"], actor=planner, category=late_category)
    check()
    # dispatch to the other department; return; re-dispatch to the first department
    web = services.case_dispatch(case=web, actor=planner)
    assert web.department == other_dept
    check()
    services.case_request(case=web, actor=outsider, kind="return", reason="不属于本单位")
    web = services.case_decide(case=web, actor=planner, approve=True)
    assert web.department is None and web.return_count == 1
    check()
    web = services.case_dispatch(case=web, actor=planner, department=dept)
    check()
    web = services.case_accept(case=web, actor=owner)
    check()
    # respond on time (4 hours from dispatch)
    web = services.case_respond(case=web, actor=owner, note="已联系")
    check()
    web = services.case_resolve(case=web, actor=owner, result="已处理")
    check()
    web = services.case_verify(case=web, actor=planner, ok=False, note="照片不清")
    check()
    web = services.case_resolve(case=web, actor=owner, result="已处理好")
    check()
    web = services.case_verify(case=web, actor=planner)
    check()
    web = services.case_close(case=web, actor=planner)
    check()
    services.case_feedback(case=web, satisfaction="satisfied", solved=True)
    check()

    # respond late (noise: 2 working hours from receipt on Monday 09:00)
    hotline = services.case_dispatch(case=cases["hotline"], actor=planner)
    hotline = services.case_accept(case=hotline, actor=owner)
    check()
    hotline = services.case_respond(case=hotline, actor=owner, note="迟了")
    check()
    # extension, then a late resolution is on time after all
    services.case_request(case=hotline, actor=owner, kind="extension", reason="施工", amount=3)
    hotline = services.case_decide(case=hotline, actor=planner, approve=True)
    check()
    hotline = services.case_resolve(case=hotline, actor=owner, result="已整改")
    check()
    # basically satisfied verifies
    hotline = services.case_feedback(case=hotline, satisfaction="basic", solved=False)
    assert hotline.status == Status.VERIFIED
    check()

    # dissatisfied reopens; resolved again late; satisfied
    api = services.case_dispatch(case=cases["api"], actor=planner)
    api = services.case_accept(case=api, actor=owner)
    api = services.case_respond(case=api, actor=owner, note="好")
    api = services.case_resolve(case=api, actor=owner, result="好了")
    check()
    api = services.case_feedback(case=api, satisfaction="dissatisfied", solved=False)
    assert api.status == Status.DISPATCHED and api.reopen_count == 1
    check()
    time_machine.move_to(at(2022, 10, 20, 9), tick=False)
    api = services.case_accept(case=api, actor=owner)
    api = services.case_respond(case=api, actor=owner, note="再联系")
    api = services.case_resolve(case=api, actor=owner, result="终于好了")
    check()

    # suspension and resume; refused request
    drone = services.case_dispatch(case=cases["drone"], actor=planner)
    drone = services.case_accept(case=drone, actor=owner)
    services.case_request(case=drone, actor=owner, kind="suspension", reason="等答复")
    drone = services.case_decide(case=drone, actor=planner, approve=True)
    check()
    time_machine.move_to(at(2022, 10, 24, 9), tick=False)
    drone = services.case_resume(case=drone, actor=owner)
    check()
    services.case_request(case=drone, actor=owner, kind="return", reason="x")
    drone = services.case_decide(case=drone, actor=planner, approve=False, note="不行")
    services.case_notice(case=drone, actor=planner, note="抓紧")
    check()

    # void as invalid (after dispatch), merge as a duplicate (before dispatch)
    camera = services.case_dispatch(case=cases["camera"], actor=planner)
    services.case_void(case=camera, actor=planner, reason="无效")
    check()
    services.case_void(
        case=cases["inspection"], actor=planner, reason="重复件", duplicate_of=cases["open311"]
    )
    services.case_void(case=midnight, actor=planner, reason="重复件", duplicate_of=web)
    check()

    assert_rebuild_is_the_same()
    # A group whose only cases are void is not a row, as in selectors.kpis.
    day = dt.date(2022, 9, 27)
    assert [r.key for r in rollup.kpis(group="channel", start=day, end=day)] == []
    assert rollup.volume(start=day, end=day) == {day: 1}


def test_intake_over_the_json_api_and_open311_is_counted(client, friday, category, planner):
    from duban.accounts.tokens import api_client_create

    api_client_create(name="巡查", scope="cases", actor=planner, raw_key="k" * 24)
    api_client_create(name="app", scope="open311", actor=planner, raw_key="o" * 24)
    response = client.post(
        "/api/v1/cases/",
        json.dumps(
            {
                "service_code": "noise",
                "description": "工地夜间施工",
                "channel": "camera",
                "address": "金水东路2号",
                "attributes": {"when": "night"},
            }
        ),
        content_type="application/json",
        HTTP_X_API_KEY="k" * 24,
    )
    assert response.status_code == 201, response.content
    response = client.post(
        "/open311/v2/requests.json",
        {
            "api_key": "o" * 24,
            "service_code": "noise",
            "address_string": "金水东路3号",
            "description": "夜间施工",
            "attribute[when]": "night",
        },
    )
    assert response.status_code == 201, response.content
    day = dt.date(2022, 9, 30)
    assert [(r.key, r.total) for r in rollup.kpis(group="channel", start=day, end=day)] == [
        ("camera", 1),
        ("open311", 1),
    ]
    assert_consistent()


FEEDBACK = ("satisfied", "basic", "dissatisfied")
LEGAL = {
    Status.RECEIVED: ("register", "dispatch", "void", "duplicate", "notice"),
    Status.REGISTERED: ("dispatch", "dispatch", "void", "duplicate"),
    Status.DISPATCHED: ("accept", "accept", "accept", "request_return", "void"),
    Status.ACCEPTED: (
        "respond",
        "respond",
        "request_return",
        "request_extension",
        "request_suspension",
    ),
    Status.RESPONDED: ("resolve", "resolve", "request_extension", "request_suspension"),
    Status.RESOLVED: ("verify", "send_back", *FEEDBACK),
    Status.VERIFIED: ("close", *FEEDBACK),
    Status.CLOSED: FEEDBACK,
    Status.SUSPENDED: ("resume",),
    Status.VOID: ("create",),
}


def _choose(case, choice: int) -> str:
    """A step the case's state allows (mostly), so that walks go deep."""
    if case is None or choice % 7 == 0:
        return "create"
    if case.pending:
        return ("approve", "refuse", "approve")[choice % 3]
    legal = LEGAL[case.status]
    return legal[choice % len(legal)]


def _act(action, case, rng, *, categories, departments, handlers, planner, make_case):
    if action == "create":
        return make_case(
            category=rng.choice(categories),
            channel=rng.choice(Channel.values),
            register=rng.random() < 0.3,
            attributes={"when": "day"} if rng.random() < 0.9 else {},
        )
    if case is None:
        return None
    handler = handlers.get(case.department_id)
    if action == "register":
        return services.case_register(case=case, actor=planner, category=rng.choice(categories))
    if action == "dispatch":
        department = rng.choice([None, *departments])
        return services.case_dispatch(case=case, actor=planner, department=department)
    if action == "accept":
        return services.case_accept(case=case, actor=handler)
    if action == "respond":
        return services.case_respond(case=case, actor=handler, note="联系")
    if action == "resolve":
        return services.case_resolve(case=case, actor=handler, result="办结")
    if action == "verify":
        return services.case_verify(case=case, actor=planner)
    if action == "send_back":
        return services.case_verify(case=case, actor=planner, ok=False, note="不行")
    if action == "close":
        return services.case_close(case=case, actor=planner)
    if action.startswith("request_"):
        kind = action.removeprefix("request_")
        amount = rng.randint(1, 3) if kind == "extension" else None
        return services.case_request(case=case, actor=handler, kind=kind, reason="r", amount=amount)
    if action in ("approve", "refuse"):
        return services.case_decide(case=case, actor=planner, approve=action == "approve", note="n")
    if action == "resume":
        return services.case_resume(case=case, actor=planner)
    if action == "void":
        return services.case_void(case=case, actor=planner, reason="无效")
    if action == "duplicate":
        other = Case.objects.exclude(pk=case.pk).order_by("?").first()
        return services.case_void(case=case, actor=planner, reason="重复", duplicate_of=other)
    if action == "notice":
        return services.case_notice(case=case, actor=planner, note="督办")
    if action in ("satisfied", "basic", "dissatisfied"):
        solved = rng.choice([None, True, False])
        return services.case_feedback(case=case, satisfaction=action, solved=solved)
    return None


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, 50), st.sampled_from([0, 1, 3, 30])),
        min_size=10,
        max_size=60,
    ),
)
def test_random_walks_keep_the_rollup_exact(
    time_machine, make_case, category, late_category, planner, owner, outsider, dept, other_dept,
    seed, steps,
):  # fmt: skip
    rng = random.Random(seed)
    now = at(2022, 9, 23, 23, 40)  # near midnight, before a weekend
    time_machine.move_to(now, tick=False)
    handlers = {dept.pk: owner, other_dept.pk: outsider}
    kwargs = {
        "categories": [category, late_category],
        "departments": [dept, other_dept],
        "handlers": handlers,
        "planner": planner,
        "make_case": make_case,
    }
    for choice, index, hours in steps:
        now += dt.timedelta(hours=hours)
        time_machine.move_to(now, tick=False)
        cases = list(Case.objects.order_by("id"))
        case = cases[index % len(cases)] if cases else None
        action = _choose(case, choice)
        try:
            _act(action, case, rng, **kwargs)
        except (ValidationError, PermissionDenied):
            pass  # a refused step changes nothing
        assert rollup.check() == []
    assert_consistent()
    assert_rebuild_is_the_same()


def test_rebuild_of_a_range_leaves_other_days_alone(time_machine, make_case, planner):
    for day in (26, 27, 28):
        time_machine.move_to(at(2022, 9, day, 10), tick=False)
        make_case()
    kept = rollup.stored()
    CaseDayStat.objects.all().update(received=99)
    assert rollup.rebuild(start=dt.date(2022, 9, 27), end=dt.date(2022, 9, 27)) == 1
    wrong = rollup.check()
    assert [key[0] for key, _stored, _counted in wrong] == [
        dt.date(2022, 9, 26),
        dt.date(2022, 9, 28),
    ]
    rollup.rebuild()
    assert rollup.stored() == kept


def test_a_row_made_by_another_writer_is_added_to_not_duplicated(friday, make_case):
    """The roll-up row is written by one upsert: a row another transaction made first (here:
    before ours) is added to, with or without a department."""
    category = make_case().case.category_id
    CaseDayStat.objects.all().delete()
    day = dt.date(2022, 9, 30)
    CaseDayStat.objects.create(day=day, category_id=category, department=None, channel="web")
    make_case()
    assert CaseDayStat.objects.get().received == 1
    rollup.apply(None, ((day, category, None, "web"), {"received": 2, "void": 1}))
    department = Department.objects.create(name="城管", code="cg-x")
    rollup.apply(None, ((day, category, department.pk, "web"), {"received": 1}))
    rollup.apply(None, ((day, category, department.pk, "web"), {"received": 1, "void": 1}))
    rows = {r.department_id: (r.received, r.void, r.dispatched) for r in CaseDayStat.objects.all()}
    assert rows == {None: (3, 1, 0), department.pk: (2, 1, 0)}


def test_volume_by_month(time_machine, make_case):
    for when in (at(2022, 1, 31, 23, 59), at(2022, 2, 1, 0, 1), at(2022, 3, 5), at(2022, 3, 6)):
        time_machine.move_to(when, tick=False)
        make_case()
    assert rollup.volume_by_month(2022, dt.date(2022, 3, 5)) == [
        {"month": "2022-01", "n": 1},
        {"month": "2022-02", "n": 1},
        {"month": "2022-03", "n": 1},
    ]
    assert rollup.volume_by_month(2022, dt.date(2021, 12, 31)) == []
    assert len(rollup.volume_by_month(2022, dt.date(2023, 1, 1))) == 12
    assert rollup.volume(start=dt.date(2022, 3, 4), end=dt.date(2022, 3, 6)) == {
        dt.date(2022, 3, 4): 0,
        dt.date(2022, 3, 5): 1,
        dt.date(2022, 3, 6): 1,
    }


def test_command_checks_and_rebuilds(friday, make_case, capsys):
    make_case()
    call_command("cases", "rollup", "--check")
    CaseDayStat.objects.all().delete()
    with pytest.raises(Exception, match="differ"):
        call_command("cases", "rollup", "--check")
    call_command("cases", "rollup", "--rebuild")
    call_command("cases", "rollup", "--check")
    assert "matches" in capsys.readouterr().out


def test_demo_leaves_the_rollup_consistent(settings):
    from duban.cases.demo import AS_OF, build_cases_demo
    from duban.demo import demo_departments

    build_cases_demo(departments=demo_departments(), total=300)
    assert rollup.check() == []
    start = AS_OF - dt.timedelta(days=364)
    for group in GROUPS:
        assert rollup.kpis(group=group, start=start, end=AS_OF) == selectors.kpis(
            group=group, start=start, end=AS_OF
        )
    assert sum(rollup.volume(start=start, end=AS_OF).values()) == 300

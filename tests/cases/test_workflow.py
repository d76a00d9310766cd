"""The case workflow: every step, its side paths, refusals, permissions, the SLA clock."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from duban.audit.models import AuditEntry
from duban.audit.services import audit_verify
from duban.cases import lights, services
from duban.cases.models import Case, CaseEvent, Status, parse_ticket
from duban.cases.services import TransitionRefused

from .conftest import at

pytestmark = pytest.mark.django_db


def walk_to(case, status, *, planner, owner):
    steps = [
        (Status.DISPATCHED, lambda c: services.case_dispatch(case=c, actor=planner)),
        (Status.ACCEPTED, lambda c: services.case_accept(case=c, actor=owner)),
        (Status.RESPONDED, lambda c: services.case_respond(case=c, actor=owner, note="已电话联系")),
        (Status.RESOLVED, lambda c: services.case_resolve(case=c, actor=owner, result="已整改")),
        (Status.VERIFIED, lambda c: services.case_verify(case=c, actor=planner)),
        (Status.CLOSED, lambda c: services.case_close(case=c, actor=planner)),
    ]
    order = [s for s, _ in steps]
    for target, step in steps:
        if case.status in order and order.index(case.status) >= order.index(target):
            continue
        case = step(case)
        if target == status:
            return case
    raise AssertionError(status)


def test_intake_sets_deadlines_on_the_working_day_clock(friday, make_case):
    intake = make_case()
    case = intake.case
    assert intake.created and intake.tracking_token
    assert case.status == Status.RECEIVED
    assert case.received_at == at(2022, 9, 30, 10)
    # 2 working hours from Friday 10:00; 3 working days: 10-08, 10-09 (调休), 10-10.
    assert case.response_deadline == at(2022, 9, 30, 12)
    assert case.resolution_deadline == at(2022, 10, 10, 18)
    assert parse_ticket(case.ticket) == (dt.date(2022, 9, 30), case.pk)
    assert case.events.get().kind == "received"


def test_the_whole_path_is_recorded_with_who_and_when(friday, make_case, planner, owner):
    case = make_case().case
    services.case_register(case=case, actor=planner)
    case = walk_to(Case.objects.get(pk=case.pk), Status.CLOSED, planner=planner, owner=owner)
    kinds = list(case.events.values_list("kind", "actor_label", "to_status"))
    assert kinds == [
        ("received", "citizen", "received"),
        ("register", "planner", "registered"),
        ("dispatch", "planner", "dispatched"),
        ("accept", "owner", "accepted"),
        ("respond", "owner", "responded"),
        ("resolve", "owner", "resolved"),
        ("verify", "planner", "verified"),
        ("close", "planner", "closed"),
    ]
    assert case.department.code == "chengguan"
    assert all(e.at == at(2022, 9, 30, 10) for e in case.events.all())
    assert AuditEntry.objects.filter(entity="cases.case", entity_id=str(case.pk)).count() == 8
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.RECEIVED, lambda c, p, o: services.case_verify(case=c, actor=p)),
        (Status.DISPATCHED, lambda c, p, o: services.case_resolve(case=c, actor=o, result="x")),
        (Status.ACCEPTED, lambda c, p, o: services.case_close(case=c, actor=p)),
        (Status.RESPONDED, lambda c, p, o: services.case_dispatch(case=c, actor=p)),
        (Status.CLOSED, lambda c, p, o: services.case_void(case=c, actor=p, reason="重复")),
        (Status.RESOLVED, lambda c, p, o: services.case_respond(case=c, actor=o, note="x")),
    ],
)
def test_illegal_transitions_are_refused_with_a_reason(
    friday, make_case, planner, owner, status, action
):
    case = make_case().case
    if status != Status.RECEIVED:
        case = walk_to(case, status, planner=planner, owner=owner)
    with pytest.raises(TransitionRefused) as info:
        action(case, planner, owner)
    message = info.value.messages[0]
    assert "Cannot" in message and "must be" in message
    assert Case.objects.get(pk=case.pk).status == status


def test_only_the_handling_department_and_the_centre_act(
    friday, make_case, planner, owner, colleague, outsider, leader
):
    case = make_case().case
    with pytest.raises(PermissionDenied):
        services.case_dispatch(case=case, actor=owner)
    with pytest.raises(PermissionDenied):
        services.case_dispatch(case=case, actor=leader)
    case = services.case_dispatch(case=case, actor=planner)
    with pytest.raises(PermissionDenied):
        services.case_accept(case=case, actor=outsider)
    with pytest.raises(PermissionDenied):
        services.case_accept(case=case, actor=planner)
    services.case_accept(case=case, actor=colleague)  # any reporter of the department


def test_return_needs_approval_and_goes_back_to_the_desk(
    friday, make_case, planner, owner, other_dept
):
    case = walk_to(make_case().case, Status.ACCEPTED, planner=planner, owner=owner)
    with pytest.raises(ValidationError):
        services.case_request(case=case, actor=owner, kind="return", reason="  ")
    services.case_request(case=case, actor=owner, kind="return", reason="不属于本单位职责")
    with pytest.raises(TransitionRefused, match="already waiting"):
        services.case_request(case=case, actor=owner, kind="suspension", reason="x")
    with pytest.raises(ValidationError):
        services.case_decide(case=case, actor=planner, approve=False, note="")
    case = services.case_decide(case=case, actor=planner, approve=True)
    assert case.status == Status.REGISTERED and case.department is None
    assert case.return_count == 1 and not case.pending
    case = services.case_dispatch(case=case, actor=planner, department=other_dept)
    assert case.department == other_dept
    assert list(case.events.values_list("kind", flat=True))[-3:] == [
        "request_return",
        "approve_return",
        "dispatch",
    ]


def test_refused_request_leaves_the_case_as_it_was(friday, make_case, planner, owner):
    case = walk_to(make_case().case, Status.ACCEPTED, planner=planner, owner=owner)
    services.case_request(case=case, actor=owner, kind="return", reason="不归我们管")
    case = services.case_decide(case=case, actor=planner, approve=False, note="属于城管职责")
    assert case.status == Status.ACCEPTED and case.return_count == 0 and not case.pending


def test_extension_moves_the_resolution_deadline_in_working_days(friday, make_case, planner, owner):
    case = walk_to(make_case().case, Status.RESPONDED, planner=planner, owner=owner)
    with pytest.raises(ValidationError):
        services.case_request(case=case, actor=owner, kind="extension", reason="施工", amount=0)
    services.case_request(case=case, actor=owner, kind="extension", reason="需要施工", amount=2)
    case = services.case_decide(case=case, actor=planner, approve=True)
    # 10-10 + 2 working days = 10-12
    assert case.resolution_deadline == at(2022, 10, 12, 18)
    assert case.extension_count == 1


def test_suspension_pauses_the_clock(time_machine, make_case, planner, owner):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)  # Monday
    case = walk_to(make_case().case, Status.RESPONDED, planner=planner, owner=owner)
    assert case.resolution_deadline == at(2022, 9, 29, 18)
    services.case_request(case=case, actor=owner, kind="suspension", reason="等待产权单位答复")
    case = services.case_decide(case=case, actor=planner, approve=True)
    assert case.status == Status.SUSPENDED
    assert lights.resolution_light(case, at(2022, 9, 30, 9)).colour == "paused"
    time_machine.move_to(at(2022, 9, 27, 9), tick=False)  # one working day later
    case = services.case_resume(case=case, actor=owner)
    assert case.status == Status.RESPONDED
    assert case.resolution_deadline == at(2022, 9, 30, 18)


def test_void_as_duplicate_links_the_cases(friday, make_case, planner, owner):
    first = make_case().case
    second = make_case().case
    case = services.case_void(case=second, actor=planner, reason="重复件", duplicate_of=first)
    assert case.status == Status.VOID and case.duplicate_of == first
    with pytest.raises(ValidationError):
        services.case_void(case=first, actor=planner, reason="")


def test_centre_can_send_a_resolution_back(friday, make_case, planner, owner):
    case = walk_to(make_case().case, Status.RESOLVED, planner=planner, owner=owner)
    case = services.case_verify(case=case, actor=planner, ok=False, note="照片不清楚")
    assert case.status == Status.RESPONDED and case.resolved_at is None


def test_citizen_feedback_verifies_or_reopens(time_machine, make_case, planner, owner):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)
    case = walk_to(make_case().case, Status.RESOLVED, planner=planner, owner=owner)
    with pytest.raises(ValidationError):
        services.case_feedback(case=case, satisfaction="meh")
    time_machine.move_to(at(2022, 9, 28, 9), tick=False)
    case = services.case_feedback(case=case, satisfaction="dissatisfied", comment="还是吵")
    assert case.status == Status.DISPATCHED and case.reopen_count == 1
    assert case.department.code == "chengguan" and case.resolved_at is None
    # a fresh resolution limit from the reopening: 09-29, 09-30, 10-08
    assert case.resolution_deadline == at(2022, 10, 8, 18)
    case = walk_to(case, Status.RESOLVED, planner=planner, owner=owner)
    case = services.case_feedback(case=case, satisfaction="basic", solved=True)
    assert case.status == Status.VERIFIED
    with pytest.raises(TransitionRefused):
        services.case_feedback(case=case, satisfaction="dissatisfied")


def test_feedback_after_the_reopen_window_is_refused(time_machine, make_case, planner, owner):
    time_machine.move_to(at(2022, 9, 1, 9), tick=False)
    case = walk_to(make_case().case, Status.RESOLVED, planner=planner, owner=owner)
    time_machine.move_to(at(2022, 9, 20, 9), tick=False)
    with pytest.raises(TransitionRefused, match="15 days"):
        services.case_feedback(case=case, satisfaction="dissatisfied")


def test_lights_turn_yellow_at_80_percent_and_red_when_overdue(
    time_machine, make_case, planner, owner
):
    time_machine.move_to(at(2022, 9, 26, 9), tick=False)  # Monday; response due 11:00
    case = make_case().case
    assert case.response_deadline == at(2022, 9, 26, 11)
    assert lights.response_light(case, at(2022, 9, 26, 10, 30)).colour == "green"
    assert lights.response_light(case, at(2022, 9, 26, 10, 36)).colour == "yellow"
    assert lights.response_light(case, at(2022, 9, 26, 11)).colour == "red"
    time_machine.move_to(at(2022, 9, 26, 10, 40), tick=False)
    assert Case.objects.filter(lights.yellow_q()).count() == 1
    time_machine.move_to(at(2022, 9, 26, 11, 5), tick=False)
    assert Case.objects.filter(lights.overdue_q()).count() == 1
    walk_to(case, Status.RESPONDED, planner=planner, owner=owner)
    case.refresh_from_db()
    assert lights.response_light(case).colour == "late"
    assert lights.resolution_light(case).colour == "green"


def test_lights_follow_the_pinned_clock(settings, make_case, friday):
    case = make_case().case
    settings.AS_OF = dt.date(2022, 10, 11)
    assert lights.resolution_light(case).colour == "red"


def test_attributes_are_checked_against_the_definition(friday, make_case):
    with pytest.raises(ValidationError, match="required"):
        make_case(attributes={})
    with pytest.raises(ValidationError, match="not among"):
        make_case(attributes={"when": "noon"})
    with pytest.raises(ValidationError, match="number"):
        make_case(attributes={"when": "day", "db": "loud"})
    with pytest.raises(ValidationError, match="Unknown"):
        make_case(attributes={"when": "day", "colour": "red"})


@pytest.mark.parametrize(
    "bad",
    [
        {"description": ""},
        {"description": "x" * 4001},
        {"address": "", "lat": None},
        {"lat": "91", "long": "10"},
        {"lat": "30", "long": None, "address": ""},
        {"reporter_email": "not-an-email"},
        {"media_url": "javascript:alert(1)"},
    ],
)
def test_bad_intake_is_refused(friday, make_case, bad):
    with pytest.raises(ValidationError):
        make_case(**bad)


def test_ticket_numbers_come_from_the_primary_key(friday, make_case):
    tickets = {make_case().case.ticket for _ in range(20)}
    assert len(tickets) == 20


def test_clock_from_dispatch(friday, make_case, category, planner):
    category.clock_start = "dispatch"
    category.save()
    case = make_case().case
    assert case.resolution_deadline is None
    assert lights.resolution_light(case).colour == "none"
    case = services.case_dispatch(case=case, actor=planner)
    assert case.resolution_deadline == at(2022, 10, 10, 18)


def test_unknown_year_is_shown_when_the_deadline_falls_there(time_machine, make_case):
    time_machine.move_to(at(2026, 12, 30, 10), tick=False)
    with pytest.raises(ValidationError, match="2027"):
        make_case()


def test_personal_data_never_reaches_the_audit_log_or_events(friday, make_case, planner, owner):
    case = walk_to(make_case().case, Status.CLOSED, planner=planner, owner=owner)
    logged = json.dumps(list(AuditEntry.objects.values("before", "after")), ensure_ascii=False)
    logged += json.dumps(list(CaseEvent.objects.values()), ensure_ascii=False, default=str)
    for secret in ("张三丰", "13912345678", "zsf@example.com", case.tracking_hash):
        assert secret not in logged


def test_api_retry_with_the_same_external_id_is_stored_once(friday, make_case, planner):
    from duban.accounts.tokens import api_client_create

    client, _key = api_client_create(name="巡查", scope="cases", actor=planner)
    first = make_case(api_client=client, external_id="X-1", channel="inspection")
    again = make_case(api_client=client, external_id="X-1", channel="inspection")
    assert first.created and not again.created and first.case.pk == again.case.pk
    assert Case.objects.count() == 1


def test_merging_informs_the_citizen_of_each_case(
    client, friday, make_case, planner, owner, mailoutbox, django_capture_on_commit_callbacks
):
    from duban.cases import rollup

    first = make_case(
        reporter_name="李四", reporter_phone="13800000000", reporter_email="lisi@example.com"
    )
    second = make_case(description="烧烤店噪音又来了", reporter_email="zsf@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.case_void(
            case=second.case, actor=planner, reason="重复件", duplicate_of=first.case
        )
    merged = Case.objects.get(pk=second.case.pk)
    assert merged.status == Status.VOID and merged.duplicate_of_id == first.case.pk
    # Both timelines show a public step; each page shows nothing of the other citizen.
    assert merged.events.filter(kind="merge", public=True, note=first.case.ticket).exists()
    assert first.case.events.filter(kind="merged", public=True, note=merged.ticket).exists()
    page = client.get(f"/cases/t/{second.tracking_token}/").content.decode()
    assert first.case.ticket in page and "Received" in page
    assert "Handled together with an earlier report of the same problem" in page
    page_first = client.get(f"/cases/t/{first.tracking_token}/").content.decode()
    assert "A later report of the same problem joined this case" in page_first
    for secret in ("李四", "13800000000", "lisi@example.com"):
        assert secret not in page
    assert "烧烤店噪音又来了" not in page_first and "zsf@example.com" not in page_first
    # The merged citizen gets one e-mail, about their own ticket and the surviving case.
    (mail,) = mailoutbox
    assert mail.to == ["zsf@example.com"]
    text = mail.subject + mail.body
    assert merged.ticket in text and first.case.ticket in text and "Received" in text
    for secret in ("李四", "13800000000", "lisi@example.com", "楼下烧烤店深夜噪音"):
        assert secret not in text
    # Each public change of the surviving case reaches the merged citizen (page and mail).
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_dispatch(case=first.case, actor=planner)
    assert "Dispatched" in client.get(f"/cases/t/{second.tracking_token}/").content.decode()
    assert len(mailoutbox) == 2 and "Dispatched" in mailoutbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_accept(case=case, actor=owner)
        services.case_notice(case=case, actor=planner, note="抓紧")  # internal: no mail
        case = services.case_respond(case=case, actor=owner, note="已联系")
        case = services.case_resolve(case=case, actor=owner, result="已劝离烧烤店")
    assert [m.to for m in mailoutbox[2:]] == [["zsf@example.com"]] * 3
    assert "已劝离烧烤店" in mailoutbox[-1].body  # the public answer
    page = client.get(f"/cases/t/{second.tracking_token}/").content.decode()
    assert "Resolved" in page and "已劝离烧烤店" in page
    assert rollup.check() == []
    assert audit_verify().ok


def test_merging_follows_the_chain_and_refuses_a_void_case(
    friday, make_case, planner, mailoutbox, django_capture_on_commit_callbacks
):
    a, b, c = (make_case(reporter_email=f"{n}@example.com").case for n in "abc")
    services.case_void(case=a, actor=planner, reason="重复", duplicate_of=b)
    # b is merged into c: a follows c now, and is told so.
    with django_capture_on_commit_callbacks(execute=True):
        services.case_void(case=b, actor=planner, reason="重复", duplicate_of=c)
    assert Case.objects.get(pk=a.pk).duplicate_of_id == c.pk
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.com", "b@example.com"]
    d = make_case().case
    services.case_void(case=d, actor=planner, reason="重复", duplicate_of=a)  # a -> c
    assert Case.objects.get(pk=d.pk).duplicate_of_id == c.pk
    invalid = make_case().case
    services.case_void(case=invalid, actor=planner, reason="无效")
    with pytest.raises(ValidationError, match="is void"):
        services.case_void(case=make_case().case, actor=planner, reason="x", duplicate_of=invalid)
    assert AuditEntry.objects.filter(action="case.relink", entity_id=str(a.pk)).count() == 1
    assert audit_verify().ok


def test_a_mail_server_down_does_not_undo_the_merge(
    friday, make_case, planner, monkeypatch, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.send_mail", down)
    first = make_case().case
    with django_capture_on_commit_callbacks(execute=True):
        services.case_void(case=make_case().case, actor=planner, reason="重", duplicate_of=first)
    assert Case.objects.filter(duplicate_of=first).count() == 1

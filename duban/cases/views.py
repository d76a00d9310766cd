"""Pages of the cases module: the public form and tracking page (no login), the centre's
dispatch desk, a department's queue, case detail with its timeline, KPIs."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from duban import clock
from duban.accounts.models import Department
from duban.cases import selectors, services
from duban.cases.forms import (
    ActionForm,
    CaseForm,
    FeedbackForm,
    FindForm,
    HotlineCaseForm,
    KpiForm,
    StaffCaseForm,
)
from duban.cases.lights import resolution_light, response_light
from duban.cases.models import Case, CasePhoto, Category, Channel, Pending, Status, parse_ticket
from duban.core.uploads import stored_file_response

ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def _before(request) -> int | None:
    raw = request.GET.get("before", "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError(_("before must be a case number"))
    return int(raw)


def _bad(request, exc: ValidationError):
    return HttpResponseBadRequest("; ".join(exc.messages))


def index(request):
    if not request.user.is_authenticated:
        return redirect("cases:new")
    if request.user.is_operator:
        return redirect("cases:hotline")
    if request.user.sees_everything:
        return redirect("cases:desk")
    return redirect("cases:queue")


def _refuse_operator(user, what: str) -> None:
    """Hotline operators enter and look up cases; the rest of the workflow is the
    dispatchers' and the departments'. `what` says what was refused."""
    if user.is_operator:
        raise PermissionDenied(
            _("%(what)s: not for hotline operators, who enter and look up cases.") % {"what": what}
        )


def _attributes_from(post) -> dict:
    answers: dict = {}
    for key in post:
        match = ATTRIBUTE.match(key)
        if match:
            values = [v for v in post.getlist(key) if v.strip()]
            if match.group(2):
                answers.setdefault(match.group(1), []).extend(values)
            else:
                answers[match.group(1)] = values[-1] if values else ""
    return answers


def attributes_fields(request):
    """The extra questions of a category, for the form (htmx swaps them in)."""
    code = request.GET.get("category", "")
    category = None
    if code.isdigit():
        category = Category.objects.filter(pk=int(code), is_active=True).first()
    return render(request, "cases/_attributes.html", {"category": category, "answers": {}})


@never_cache
def new(request):
    """File a case. Anyone may, without logging in; the centre's staff file for a caller
    (registered at once): operators on the hotline, planners on any staff channel."""
    user = request.user
    staff = user.is_authenticated and user.is_centre_staff
    form_class = (HotlineCaseForm if user.is_operator else StaffCaseForm) if staff else CaseForm
    if request.method != "POST":
        return render(request, "cases/new.html", {"form": form_class(), "staff": staff})
    form = form_class(request.POST)
    answers = _attributes_from(request.POST)
    category = None
    if form.is_valid():
        data = form.cleaned_data
        category = data["category"]
        try:
            intake = services.case_create(
                category=category,
                channel=data.get("channel")
                or (Channel.HOTLINE if staff and user.is_operator else Channel.WEB),
                description=data["description"],
                address=data["address"],
                lat=data.get("lat"),
                long=data.get("long"),
                attributes=answers,
                reporter_name=data.get("reporter_name", ""),
                reporter_phone=data.get("reporter_phone", ""),
                reporter_email=data.get("reporter_email", ""),
                photos=request.FILES.getlist("photos"),
                actor=request.user if staff else None,
                register=staff,
                tracking=True,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            tracking_url = request.build_absolute_uri(
                reverse("cases:track", args=[intake.tracking_token])
            )
            return render(
                request,
                "cases/submitted.html",
                {"case": intake.case, "tracking_url": tracking_url, "staff": staff},
                status=201,
            )
    else:
        category = Category.objects.filter(
            pk=request.POST.get("category")
            if str(request.POST.get("category", "")).isdigit()
            else None
        ).first()
    return render(
        request,
        "cases/new.html",
        {"form": form, "staff": staff, "category": category, "answers": answers},
        status=400,
    )


def _case_for_token(token: str) -> Case:
    if not token or len(token) > 64:
        raise Http404
    case = (
        Case.objects.select_related("category", "department")
        .filter(tracking_hash=services.tracking_hash(token))
        .first()
    )
    if case is None:
        raise Http404
    return case


@never_cache
def track(request, token: str):
    """The citizen's private page: status, public steps, the answer, and feedback."""
    case = _case_for_token(token)
    form = FeedbackForm()
    status = 200
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            try:
                services.case_feedback(
                    case=case,
                    satisfaction=form.cleaned_data["satisfaction"],
                    solved=form.cleaned_data["solved"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Thank you for your feedback."))
                return redirect("cases:track", token=token)
        status = 400
    context = {
        "case": case,
        "events": case.events.filter(public=True).select_related("department"),
        "feedback_form": form if services.feedback_open(case) else None,
        "response_light": response_light(case),
        "resolution_light": resolution_light(case),
    }
    surviving = None
    if case.duplicate_of_id is not None:
        # Merged: the case that goes on, shown here, on this citizen's own page, with its
        # public facts and steps only. Its tracking link is the other citizen's secret,
        # and its description, address and reporter are theirs: none of them is shown.
        surviving = (
            Case.objects.select_related("category", "department")
            .filter(pk=case.duplicate_of_id)
            .first()
        )
    if surviving is not None:
        context.update(
            surviving=surviving,
            surviving_light=resolution_light(surviving),
            surviving_events=surviving.events.filter(public=True).select_related("department"),
        )
    return render(request, "cases/track.html", context, status=status)


@login_required
def hotline(request):
    """A hotline operator's page: take a call (enter a case), find a case by its ticket
    number to answer a caller, and the cases they entered last. Planners file for callers
    too and may use it."""
    if not request.user.is_centre_staff:
        raise PermissionDenied(_("The hotline page is for the centre's operators."))
    return render(
        request,
        "cases/hotline.html",
        {"find_form": FindForm(), "page": selectors.entered_by(request.user)},
    )


@login_required
@never_cache
def find(request):
    """Find a case by its ticket number (a caller reads it out): to its page when the user
    may see it. A malformed number is a 400, an unknown one a 404, both with the form."""
    if "ticket" not in request.GET:
        return render(request, "cases/find.html", {"find_form": FindForm()})
    form = FindForm(request.GET)
    status = 400
    if form.is_valid():
        day, number = form.cleaned_data["ticket"]
        case = selectors.case_by_ticket(day, number)
        if case is not None:
            if not _viewable(request.user, case):
                raise PermissionDenied(_("This case belongs to another department."))
            return redirect("cases:detail", pk=case.pk)
        form.add_error(
            "ticket",
            _("No case has the ticket number %(ticket)s.") % {"ticket": f"{day:%Y%m%d}-{number}"},
        )
        status = 404
    return render(request, "cases/find.html", {"find_form": form}, status=status)


@login_required
def desk(request):
    """The centre's dispatch desk: new cases with their suggested department, requests
    waiting for approval, and what is overdue per department."""
    _refuse_operator(request.user, _("The dispatch desk"))
    if not request.user.sees_everything:
        raise PermissionDenied(_("The dispatch desk is for the centre."))
    try:
        page = selectors.desk_new(before=_before(request))
    except ValidationError as exc:
        return _bad(request, exc)
    # Proposed duplicates, for the centre to merge (void as duplicate).
    duplicates = selectors.duplicates_of(page.rows, limit=1)
    departments = list(Department.objects.all())
    options = {}  # the dispatch choices, rendered once per suggested department
    for case in page.rows:
        case.proposed_duplicates = duplicates[case.pk]
        suggested = case.category.default_department_id
        if suggested not in options:
            options[suggested] = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((d.pk, " selected" if d.pk == suggested else "", d.name) for d in departments),
            )
        case.dispatch_options = options[suggested]
    return render(
        request,
        "cases/desk.html",
        {
            "page": page,
            "pending": selectors.desk_pending(),
            "overdue": selectors.overdue_by_department(),
            "can_act": request.user.is_planner,
        },
    )


@login_required
def queue(request):
    """A department's cases. Reporters see their own department only."""
    user = request.user
    _refuse_operator(user, _("Department queues"))
    code = services.clean_text(request.GET.get("department"))[:20]
    if user.sees_everything:
        department = get_object_or_404(Department, code=code) if code else None
    else:
        if user.department_id is None:
            raise PermissionDenied(_("You belong to no department."))
        if code and code != user.department.code:
            raise PermissionDenied(_("You can only see your own department's cases."))
        department = user.department
    scope = request.GET.get("scope", "open")
    if scope not in selectors.QUEUE_SCOPES:
        return HttpResponseBadRequest(_("Unknown list %(s)s.") % {"s": scope[:20]})
    street = services.clean_text(request.GET.get("street"))[:20]
    try:
        page = selectors.queue(
            department_id=department.pk if department else None,
            scope=scope,
            before=_before(request),
            street=street or None,
        )
    except ValidationError as exc:
        return _bad(request, exc)
    return render(
        request,
        "cases/queue.html",
        {
            "page": page,
            "department": department,
            "scope": scope,
            "scopes": selectors.QUEUE_SCOPES,
            "street": street,
            "query": urlencode(
                {
                    "scope": scope,
                    **({"department": department.code} if department else {}),
                    **({"street": street} if street else {}),
                }
            ),
            "departments": Department.objects.all() if user.sees_everything else None,
        },
    )


def _viewable(user, case: Case) -> bool:
    """Who opens a case: the centre's staff (operators included) and leaders, any case;
    a department's reporters, the cases it handles."""
    if user.is_centre_staff or user.sees_everything:
        return True
    return (
        user.role == "reporter"
        and case.department_id is not None
        and user.department_id == case.department_id
    )


def _timeline(case: Case) -> list:
    """The steps, each merge step with the pk of the other case it names (its note is
    that case's ticket number), for a link."""
    events = list(case.events.select_related("department"))
    for event in events:
        event.other_case = None
        if event.kind in ("merge", "merged"):
            parsed = parse_ticket(event.note)
            event.other_case = parsed[1] if parsed else None
    return events


def _detail_context(request, case: Case) -> dict:
    user = request.user
    handler = user.role == "reporter" and user.department_id == case.department_id
    return {
        "case": case,
        "events": _timeline(case),
        "photos": case.photos.all(),
        # The reporter's contact: the centre's staff (operators call back) and the
        # handling department; never leaders (docs/cases.md, Privacy).
        "show_private": user.is_centre_staff or handler,
        "is_centre": user.is_planner,
        "is_operator": user.is_operator,
        "is_handler": handler,
        # Reports merged into this case (the first 50: a loud problem gathers many).
        "merged": list(case.duplicates.order_by("id")[:50]),
        "response_light": response_light(case),
        "resolution_light": resolution_light(case),
        "departments": Department.objects.all(),
        "categories": Category.objects.filter(is_active=True),
        "duplicates": selectors.possible_duplicates(case) if case.is_open else [],
        "Status": Status,
        "Pending": Pending,
    }


@login_required
def detail(request, pk: int):
    case = get_object_or_404(
        Case.objects.select_related("category", "department", "category__default_department"),
        pk=pk,
    )
    if not _viewable(request.user, case):
        raise PermissionDenied(_("This case belongs to another department."))
    return render(request, "cases/detail.html", _detail_context(request, case))


def _run(action: str, *, case: Case, user, data, files):
    note = data.get("note") or ""
    if action == "register":
        return services.case_register(case=case, actor=user, category=data.get("category"))
    if action == "dispatch":
        return services.case_dispatch(
            case=case, actor=user, department=data.get("department"), note=note
        )
    if action == "accept":
        return services.case_accept(case=case, actor=user)
    if action == "respond":
        return services.case_respond(case=case, actor=user, note=note)
    if action == "resolve":
        return services.case_resolve(
            case=case, actor=user, result=note, photos=files.getlist("photos")
        )
    if action == "verify":
        return services.case_verify(case=case, actor=user, ok=True, note=note)
    if action == "send_back":
        return services.case_verify(case=case, actor=user, ok=False, note=note)
    if action == "close":
        return services.case_close(case=case, actor=user, note=note)
    if action in ("request_return", "request_extension", "request_suspension"):
        return services.case_request(
            case=case,
            actor=user,
            kind=action.removeprefix("request_"),
            reason=note,
            amount=data.get("amount"),
        )
    if action in ("approve", "refuse"):
        return services.case_decide(case=case, actor=user, approve=action == "approve", note=note)
    if action == "resume":
        return services.case_resume(case=case, actor=user, note=note)
    if action == "void":
        duplicate = None
        if data.get("duplicate_of"):
            duplicate = Case.objects.filter(pk=data["duplicate_of"]).first()
            if duplicate is None:
                raise ValidationError(_("Case %(n)s does not exist.") % {"n": data["duplicate_of"]})
        return services.case_void(case=case, actor=user, reason=note, duplicate_of=duplicate)
    if action == "notice":
        return services.case_notice(case=case, actor=user, note=note)
    raise ValidationError(_("Unknown action %(a)s.") % {"a": action[:30]})


@login_required
@require_POST
def act(request, pk: int):
    """One workflow step. The service checks the permission and the state and says why
    when it refuses; the page shows it with a 4xx status."""
    case = get_object_or_404(Case.objects.select_related("category"), pk=pk)
    if not _viewable(request.user, case):
        raise PermissionDenied(_("This case belongs to another department."))
    _refuse_operator(request.user, _("Workflow steps"))
    form = ActionForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponseBadRequest(errors)
    action = form.cleaned_data["action"]
    try:
        _run(action, case=case, user=request.user, data=form.cleaned_data, files=request.FILES)
    except ValidationError as exc:
        case.refresh_from_db()
        context = _detail_context(request, case)
        context["errors"] = exc.messages
        return render(request, "cases/detail.html", context, status=400)
    messages.success(request, _("Done."))
    if action == "dispatch" and request.POST.get("next") == "desk":
        return redirect("cases:desk")
    return redirect("cases:detail", pk=pk)


@login_required
def photo(request, pk: int):
    item = get_object_or_404(CasePhoto.objects.select_related("case"), pk=pk)
    if not _viewable(request.user, item.case):
        raise PermissionDenied(_("This case belongs to another department."))
    return stored_file_response(item.file, item.content_type)


@login_required
def kpi(request):
    _refuse_operator(request.user, _("KPIs"))
    if not request.user.sees_everything:
        raise PermissionDenied(_("KPIs are for the centre and leaders."))
    form = KpiForm(request.GET or None, today=clock.today())
    if request.GET and not form.is_valid():
        return render(request, "cases/kpi.html", {"form": form, "rows": []}, status=400)
    if not request.GET:
        form = KpiForm({}, today=clock.today())
        form.is_valid()
    data = form.cleaned_data
    rows = selectors.kpis(group=data["group"], start=data["start"], end=data["end"])
    label = dict(form.fields["group"].choices)[data["group"]]
    return render(
        request, "cases/kpi.html", {"form": form, "rows": rows, "group_label": label, **data}
    )

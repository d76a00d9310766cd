"""Pages of progress tracking: status overview, commitment detail with reports and the
chart, the department's page, the review queue, notices, inbox, Excel."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from duban import clock
from duban.accounts.models import Department
from duban.core.uploads import stored_file_response
from duban.plans import pace, selectors, services, spreadsheets, tracking
from duban.plans.forms import (
    AssignForm,
    BulkAssignForm,
    NoticeIssueForm,
    NoticeReplyForm,
    ProgressForm,
    ReviewForm,
    SpreadsheetUploadForm,
)
from duban.plans.models import (
    Commitment,
    DataSource,
    Evidence,
    Notification,
    Plan,
    ProgressReport,
    SupervisionNotice,
)

OVERVIEW_PAGE_SIZE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plan_from_request(request) -> Plan | None:
    year = request.GET.get("year", "")
    if year:
        if not year.isdigit():
            raise ValidationError(_("year must be a number"))
        return Plan.objects.filter(year=int(year)).first()
    return Plan.objects.filter(year=clock.today().year).first() or Plan.objects.first()


def _can_see_commitment(user, commitment: Commitment) -> bool:
    if user.sees_everything:
        return True
    own = user.department_id
    return own is not None and (
        commitment.lead_department_id == own or commitment.co_departments.filter(pk=own).exists()
    )


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def status_overview(request):
    try:
        plan = _plan_from_request(request)
    except ValidationError as exc:
        return HttpResponseBadRequest(exc.messages[0])
    if plan is None:
        return render(
            request, "plans/overview.html", {"plan": None, "plans": list(Plan.objects.all())}
        )
    status = request.GET.get("status") or None
    if status and status not in (pace.GREEN, pace.YELLOW, pace.RED, pace.GREY, "overdue"):
        return HttpResponseBadRequest(_("Unknown status filter."))
    department_id = None
    departments = Department.objects.all()
    if request.user.sees_everything:
        raw = request.GET.get("department") or ""
        if raw:
            if not raw.isdigit():
                return HttpResponseBadRequest(_("department must be a number"))
            department_id = int(raw)
    else:
        # A reporter's overview is what their department leads or supports.
        department_id = request.user.department_id or -1
    # lead=1: only what the department leads (the cockpit's bars count lead departments).
    lead_only = request.GET.get("lead") == "1" and request.user.sees_everything
    result = selectors.plan_status(
        plan, department_id=department_id, status=status, lead_only=lead_only
    )
    section = request.GET.get("section")
    if section is not None:
        # Drill-down from the cockpit's chart of statuses by section.
        result.rows = [row for row in result.rows if row.commitment.section == section]
    if request.GET.get("format") == "xlsx":
        return _xlsx(spreadsheets.plan_export(result), f"plan-{plan.year}-{result.as_of}.xlsx")
    # Every status is computed (the counts need them all); a page of rows is rendered.
    paginator = Paginator(result.rows, OVERVIEW_PAGE_SIZE)
    page_number = request.GET.get("page") or "1"
    if not page_number.isdigit() or not 1 <= int(page_number) <= paginator.num_pages:
        return HttpResponseBadRequest(_("No such page."))
    page = paginator.page(int(page_number))
    sections = selectors.group_by_section(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "page_query": query.urlencode(),
        "plan": plan,
        "plans": list(Plan.objects.all()),
        "status": result,
        "counts": result.counts,
        "sections": sections,
        "total": len(result.rows),
        "departments": departments,
        "filter_department": department_id if request.user.sees_everything else None,
        "filter_status": status or "",
        "bulk_form": BulkAssignForm(plan=plan) if request.user.is_planner else None,
        "upload_form": SpreadsheetUploadForm() if request.user.is_planner else None,
        "imports": selectors.imports_for(plan) if request.user.sees_everything else None,
    }
    return render(request, "plans/overview.html", context)


@login_required
@require_POST
def bulk_assign(request, year: int):
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    plan = get_object_or_404(Plan, year=year)
    form = BulkAssignForm(request.POST, plan=plan)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    with transaction.atomic():  # all of the selection or none of it
        for commitment in form.cleaned_data["commitments"]:
            services.commitment_assign(
                commitment=commitment, actor=request.user, lead=form.cleaned_data["lead_department"]
            )
    messages.success(
        request, _("%(n)s commitments assigned.") % {"n": len(form.cleaned_data["commitments"])}
    )
    return redirect(f"{reverse('plans:overview')}?year={year}")


@login_required
@require_POST
def assignments_upload(request, year: int):
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    plan = get_object_or_404(Plan, year=year)
    form = SpreadsheetUploadForm(request.POST, request.FILES)
    errors = []
    if form.is_valid():
        from duban.core.uploads import upload_check

        try:
            upload_check(form.cleaned_data["file"], allowed=("xlsx",))
            changed = spreadsheets.assignments_import(
                data=form.cleaned_data["file"].read(), actor=request.user, plan=plan
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, _("%(n)s commitments assigned.") % {"n": changed})
            return redirect(f"{reverse('plans:overview')}?year={year}")
    else:
        errors = [e for errs in form.errors.values() for e in errs]
    return render(
        request,
        "plans/upload_errors.html",
        {"errors": errors, "back": f"{reverse('plans:overview')}?year={year}"},
        status=400,
    )


def _chart(commitment: Commitment, plan: Plan, reports: list[ProgressReport]) -> str:
    """Plotly figure (as JSON) of approved values against the expected pace."""
    target = selectors.target_for(commitment, plan)
    days = [dt.date(plan.year, 1, 1)] + pace.periods(plan.year, "monthly")
    expected = (
        [float(pace.expected_value(target, d)) for d in days]
        if commitment.measure != "growth"
        else [float(commitment.value)] * len(days)
    )
    approved = [
        r for r in reports if r.status == ProgressReport.Status.APPROVED and r.value is not None
    ]
    latest = {}
    for r in approved:
        latest[r.period_end] = r  # later versions overwrite earlier ones
    points = sorted(latest.values(), key=lambda r: r.period_end)
    figure = {
        "data": [
            {
                "x": [d.isoformat() for d in days],
                "y": expected,
                "name": _("Expected pace"),
                "mode": "lines",
                "line": {"dash": "dash"},
            },
            {
                "x": [r.period_end.isoformat() for r in points],
                "y": [float(r.value) for r in points],
                "name": _("Reported (approved)"),
                "mode": "lines+markers",
            },
        ],
        "layout": {
            "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
            "height": 320,
            "yaxis": {"title": {"text": commitment.unit or ""}},
            "legend": {"orientation": "h"},
        },
    }
    return json.dumps(figure, ensure_ascii=False)


@login_required
def commitment_detail(request, pk: int):
    commitment = get_object_or_404(
        Commitment.objects.select_related("plan", "lead_department", "source_import"), pk=pk
    )
    if not _can_see_commitment(request.user, commitment):
        raise PermissionDenied(_("This commitment belongs to another department."))
    plan = commitment.plan
    row = next(iter(selectors.plan_status(plan, commitment_id=commitment.pk).rows), None)
    reports = list(
        commitment.reports.select_related("created_by", "reviewed_by")
        .prefetch_related("evidence")
        .order_by("-period_end", "-version")
    )
    can_report = (
        request.user.can_report_for(commitment.lead_department_id)
        and commitment.data_source == DataSource.MANUAL
    )
    periods = [p for p in pace.periods(plan.year, commitment.cadence) if p <= clock.today()]
    context = {
        "commitment": commitment,
        "row": row,
        "reports": reports,
        "chart": _chart(commitment, plan, reports),
        "notices": commitment.notices.all(),
        "can_report": can_report and bool(periods),
        "progress_form": ProgressForm(commitment=commitment, periods=list(reversed(periods)))
        if can_report and periods
        else None,
        "review_form": ReviewForm() if request.user.is_planner else None,
        "assign_form": AssignForm(
            initial={
                "lead_department": commitment.lead_department_id,
                "co_departments": list(commitment.co_departments.values_list("pk", flat=True)),
                "cadence": commitment.cadence,
                "data_source": commitment.data_source,
                "metric": commitment.metric,
                "pace_profile": commitment.pace_profile,
                "pace_values": ", ".join(str(v) for v in commitment.pace_values or []),
                "from_baseline": commitment.from_baseline,
            }
        )
        if request.user.is_planner
        else None,
        "co_departments": commitment.co_departments.all(),
    }
    return render(request, "plans/commitment_detail.html", context)


@login_required
@require_POST
def progress_file(request, pk: int):
    commitment = get_object_or_404(Commitment.objects.select_related("plan"), pk=pk)
    if not request.user.can_report_for(commitment.lead_department_id):
        raise PermissionDenied(
            _("Only the lead department's reporters can file progress on this commitment.")
        )
    periods = [
        p for p in pace.periods(commitment.plan.year, commitment.cadence) if p <= clock.today()
    ]
    form = ProgressForm(request.POST, request.FILES, commitment=commitment, periods=periods)
    if not form.is_valid():
        return _bad_form(request, form, commitment)
    data = form.cleaned_data
    try:
        # One request, one outcome: a refused evidence file or submission leaves no draft
        # behind that the reporter was told was not saved.
        with transaction.atomic():
            report = tracking.progress_save(
                commitment=commitment,
                actor=request.user,
                period_end=data["period_end"],
                value=data.get("value"),
                done_date=data.get("done_date"),
                work_done=data.get("work_done", ""),
                problems=data.get("problems", ""),
                next_steps=data.get("next_steps", ""),
            )
            if data.get("evidence"):
                tracking.evidence_add(report=report, actor=request.user, upload=data["evidence"])
            if request.POST.get("submit") == "1":
                tracking.progress_submit(report=report, actor=request.user)
    except ValidationError as exc:
        form.add_error(None, exc)
        return _bad_form(request, form, commitment)
    messages.success(
        request,
        _("Report submitted for review.") if report.status == "submitted" else _("Draft saved."),
    )
    return redirect("plans:commitment", pk=commitment.pk)


@login_required
def evidence_file(request, pk: int):
    """An evidence file, to whoever may see the commitment it supports."""
    item = get_object_or_404(Evidence.objects.select_related("report__commitment"), pk=pk)
    if not _can_see_commitment(request.user, item.report.commitment):
        raise PermissionDenied(_("This commitment belongs to another department."))
    return stored_file_response(item.file, item.content_type, download_name=item.original_name)


def _bad_form(request, form, commitment):
    return render(
        request,
        "plans/progress_form_page.html",
        {"form": form, "commitment": commitment},
        status=400,
    )


@login_required
@require_POST
def progress_submit(request, pk: int):
    report = get_object_or_404(ProgressReport.objects.select_related("commitment"), pk=pk)
    try:
        tracking.progress_submit(report=report, actor=request.user)
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    messages.success(request, _("Report submitted for review."))
    return redirect("plans:commitment", pk=report.commitment_id)


@login_required
@require_POST
def progress_review(request, pk: int):
    report = get_object_or_404(ProgressReport.objects.select_related("commitment"), pk=pk)
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office reviews progress reports."))
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose approve or return."))
    try:
        if form.cleaned_data["decision"] == "approve":
            tracking.progress_approve(
                report=report, actor=request.user, comment=form.cleaned_data["comment"]
            )
        else:
            tracking.progress_return(
                report=report, actor=request.user, comment=form.cleaned_data["comment"]
            )
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    next_url = request.POST.get("next") or ""
    if next_url == "queue":
        return redirect("plans:reviews")
    return redirect("plans:commitment", pk=report.commitment_id)


@login_required
@require_POST
def commitment_assign(request, pk: int):
    commitment = get_object_or_404(Commitment, pk=pk)
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    form = AssignForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    data = form.cleaned_data
    try:
        with transaction.atomic():  # a refused configuration keeps the old assignment too
            services.commitment_assign(
                commitment=commitment,
                actor=request.user,
                lead=data["lead_department"],
                co=data["co_departments"],
            )
            services.commitment_configure(
                commitment=commitment,
                actor=request.user,
                cadence=data["cadence"],
                data_source=data["data_source"],
                metric=data.get("metric") or "",
                pace_profile=data["pace_profile"],
                pace_values=data.get("pace_values"),
                from_baseline=data["from_baseline"],
            )
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    messages.success(request, _("Saved."))
    return redirect("plans:commitment", pk=pk)


@login_required
def review_queue(request):
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office reviews progress reports."))
    reports = (
        ProgressReport.objects.filter(status=ProgressReport.Status.SUBMITTED)
        .select_related("commitment", "department", "created_by")
        .order_by("submitted_at")[:200]
    )
    return render(request, "plans/reviews.html", {"reports": reports, "review_form": ReviewForm()})


@login_required
def department_page(request, code: str):
    department = get_object_or_404(Department, code=code)
    if not request.user.can_view_department(department.pk):
        raise PermissionDenied(_("This is another department's page."))
    plan = Plan.objects.filter(year=clock.today().year).first() or Plan.objects.first()
    rows = selectors.plan_status(plan, department_id=department.pk).rows if plan else []
    today = clock.today()
    owed = []
    if plan:
        thresholds = plan.thresholds()
        for row in rows:
            if (
                row.commitment.lead_department_id != department.pk
                or row.commitment.data_source != "manual"
            ):
                continue
            next_period = next(
                (
                    p
                    for p in pace.periods(plan.year, row.commitment.cadence)
                    if not row.filed(p) and pace.report_due(p, thresholds) >= today
                ),
                None,
            )
            owed.append(
                (
                    row,
                    next_period,
                    pace.report_due(next_period, thresholds) if next_period else None,
                )
            )
    notices = (
        SupervisionNotice.objects.filter(department=department, status__in=tracking.OPEN_NOTICE)
        .exclude(status=SupervisionNotice.Status.DRAFT)
        .select_related("commitment")
    )
    drafts = ProgressReport.objects.filter(
        department=department, status__in=["draft", "returned"]
    ).select_related("commitment")
    return render(
        request,
        "plans/department.html",
        {
            "department": department,
            "plan": plan,
            "rows": rows,
            "owed": owed,
            "notices": notices,
            "drafts": drafts,
            "upload_form": SpreadsheetUploadForm(),
        },
    )


@login_required
def template_download(request, code: str):
    department = get_object_or_404(Department, code=code)
    if not request.user.can_view_department(department.pk):
        raise PermissionDenied(_("This is another department's page."))
    plan = Plan.objects.filter(year=clock.today().year).first() or Plan.objects.first()
    if plan is None:
        return HttpResponseBadRequest(_("There is no plan yet."))
    commitments = list(
        Commitment.objects.filter(
            plan=plan, lead_department=department, data_source="manual"
        ).order_by("id")
    )
    # Named after the latest month ended; each row carries its own cadence's period.
    period = spreadsheets.current_period("monthly", plan.year) or dt.date(plan.year, 1, 31)
    return _xlsx(
        spreadsheets.template_export(commitments, plan.year),
        f"progress-{department.code}-{period}.xlsx",
    )


@login_required
@require_POST
def template_upload(request, code: str):
    department = get_object_or_404(Department, code=code)
    if not request.user.can_report_for(department.pk):
        raise PermissionDenied(_("Only the department's reporters upload its reports."))
    plan = Plan.objects.filter(year=clock.today().year).first() or Plan.objects.first()
    form = SpreadsheetUploadForm(request.POST, request.FILES)
    errors = []
    if form.is_valid():
        from duban.core.uploads import upload_check

        try:
            upload_check(form.cleaned_data["file"], allowed=("xlsx",))
            reports = spreadsheets.template_import(
                data=form.cleaned_data["file"].read(), actor=request.user, plan=plan
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(
                request, _("%(n)s reports submitted for review.") % {"n": len(reports)}
            )
            return redirect("plans:department", code=code)
    else:
        errors = [e for errs in form.errors.values() for e in errs]
    return render(
        request,
        "plans/upload_errors.html",
        {"department": department, "errors": errors},
        status=400,
    )


@login_required
def notices(request):
    qs = SupervisionNotice.objects.select_related("commitment", "department").order_by(
        "-created_at"
    )
    if not request.user.sees_everything:
        qs = qs.filter(department_id=request.user.department_id).exclude(
            status=SupervisionNotice.Status.DRAFT
        )
    state = request.GET.get("state", "open")
    if state not in ("open", "overdue", "all"):
        return HttpResponseBadRequest(_("Unknown state filter."))
    today = clock.today()
    counts = {
        "open": qs.filter(status__in=tracking.OPEN_NOTICE).count(),
        "overdue": qs.filter(
            status=SupervisionNotice.Status.ISSUED, reply_deadline__lt=today
        ).count(),
    }
    if state == "open":
        qs = qs.filter(status__in=tracking.OPEN_NOTICE)
    elif state == "overdue":
        qs = qs.filter(status=SupervisionNotice.Status.ISSUED, reply_deadline__lt=today)
    return render(
        request,
        "plans/notices.html",
        {"notices": qs[:300], "counts": counts, "state": state, "today": today},
    )


@login_required
def notice_detail(request, pk: int):
    notice = get_object_or_404(
        SupervisionNotice.objects.select_related("commitment", "department"), pk=pk
    )
    if not request.user.sees_everything and (
        notice.department_id != request.user.department_id
        or notice.status == SupervisionNotice.Status.DRAFT
    ):
        raise PermissionDenied(_("This notice is addressed to another department."))
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "issue":
                form = NoticeIssueForm(request.POST)
                if not form.is_valid():
                    raise ValidationError([e for errs in form.errors.values() for e in errs])
                tracking.notice_issue(
                    notice=notice,
                    actor=request.user,
                    reply_deadline=form.cleaned_data["reply_deadline"],
                    reason=form.cleaned_data["reason"],
                )
            elif action == "reply":
                form = NoticeReplyForm(request.POST)
                if not form.is_valid():
                    raise ValidationError([e for errs in form.errors.values() for e in errs])
                tracking.notice_reply(
                    notice=notice,
                    actor=request.user,
                    reply=form.cleaned_data["reply"],
                    measures=form.cleaned_data["measures"],
                )
            elif action == "close":
                tracking.notice_close(notice=notice, actor=request.user)
            else:
                return HttpResponseBadRequest(_("Unknown action."))
        except ValidationError as exc:
            return HttpResponseBadRequest("; ".join(exc.messages))
        return redirect("plans:notice", pk=pk)
    return render(
        request,
        "plans/notice.html",
        {
            "notice": notice,
            "issue_form": NoticeIssueForm(
                initial={
                    "reason": notice.reason,
                    "reply_deadline": clock.today() + dt.timedelta(days=7),
                }
            ),
            "reply_form": NoticeReplyForm(),
        },
    )


@login_required
def inbox(request):
    items = Notification.objects.filter(user=request.user).order_by("-created_at")[:200]
    if request.method == "POST":
        Notification.objects.filter(user=request.user, read_at__isnull=True).update(
            read_at=clock.wall_now()
        )
        return redirect("plans:inbox")
    return render(request, "plans/inbox.html", {"items": items})

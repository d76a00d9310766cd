"""Pages of the pipeline. Each view checks permission, validates its input with a form,
calls a service or a selector, and renders; bad input is a 400 with its reason."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from duban import clock
from duban.core.uploads import stored_file_response, upload_check
from duban.projects import selectors, services
from duban.projects.forms import (
    ApprovalsForm,
    LedgerImportForm,
    ListFilterForm,
    MonthlyReportForm,
    ProblemForm,
    ProjectForm,
    ReopenForm,
    ResolveForm,
    ReviewForm,
    parse_year,
)
from duban.projects.ledger import ledger_export, ledger_import
from duban.projects.models import MonthlyReport, Problem, Project, ReportPhoto, Stage

PAGE_SIZE = 50
WAN = Decimal("10000")
YI = Decimal("100000000")


def _year(request):
    """The plan year asked for (?year=), else this year's (or the latest) registry."""
    try:
        year = parse_year(request.GET.get("year"))
    except ValueError:
        return None, HttpResponseBadRequest(_("year must be a number between 2000 and 2100"))
    return year or selectors.default_year(clock.today()), None


def _next(request, default: str) -> str:
    """Where to go back to: a local path from the form, never another site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _figure(data: list, layout: dict) -> str:
    layout = {"margin": {"l": 60, "r": 20, "t": 30, "b": 40}, "height": 320, **layout}
    return json.dumps({"data": data, "layout": layout}, cls=DjangoJSONEncoder, ensure_ascii=False)


def _yi(value) -> float | None:
    return None if value is None else float((value / YI).quantize(Decimal("0.01")))


@login_required
def index(request):
    year, error = _year(request)
    if error:
        return error
    as_of = clock.today()
    context = {"year": year, "as_of": as_of, "years": selectors.plan_years()}
    if year is None:
        return render(request, "projects/index.html", context)
    projects = selectors.scope(request.user)
    new = selectors.start_counts(year, as_of, "new", projects=projects)
    prep = selectors.start_counts(year, as_of, "preparatory", projects=projects)
    monthly = selectors.completed_by_month(year, as_of, projects=projects)
    investment = selectors.investment_summary(year, as_of, projects=projects, monthly=monthly)
    funnel = selectors.funnel(year, as_of, projects=projects)
    curve = selectors.investment_curve(year, as_of, projects=projects, monthly=monthly)
    funnel_figure = _figure(
        [
            {
                "type": "funnel",
                "y": [str(row["label"]) for row in funnel],
                "x": [row["reached"] for row in funnel],
                "textinfo": "value+percent initial",
                "marker": {"color": "#b3261e"},
            }
        ],
        {"title": {"text": _("Projects that reached each gate")}},
    )
    months = [row["month"].strftime("%Y-%m") for row in curve]
    curve_figure = _figure(
        [
            {
                "type": "scatter",
                "mode": "lines",
                "name": _("Plan (linear pace)"),
                "x": months,
                "y": [_yi(row["planned"]) for row in curve],
                "line": {"dash": "dash", "color": "#6e7781"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Completed (approved reports)"),
                "x": months,
                "y": [_yi(row["completed"]) for row in curve],
                "line": {"color": "#b3261e"},
            },
        ],
        {
            "title": {"text": _("Investment this year, cumulative (100 million yuan)")},
            "legend": {"orientation": "h"},
        },
    )
    context.update(
        {
            "new": new,
            "new_rate": selectors.percent(new["started"], new["total"]),
            "new_rate_q3": selectors.percent(new["started_by_q3"], new["total"]),
            "new_target": selectors.NEW_START_TARGET,
            "prep": prep,
            "prep_rate": selectors.percent(prep["started"], prep["total"]),
            "prep_target": selectors.PREPARATORY_TARGET,
            "investment": investment,
            "land": selectors.land_to_start(year, as_of, projects=projects, extremes=False),
            "by_type": selectors.by_type(year, as_of, projects=projects),
            "by_stage": selectors.by_stage(year, as_of, projects=projects),
            "by_sector": selectors.by_sector(year, as_of, projects=projects),
            "by_department": selectors.by_department(year, as_of, projects=projects),
            "late_count": selectors.late_projects(year, as_of, projects=projects).count(),
            "open_problems": selectors.open_problems(
                as_of, problems=selectors.visible_problems(request.user)
            ).count(),
            "to_review": selectors.reports_to_review(request.user).count(),
            "funnel_figure": funnel_figure,
            "curve_figure": curve_figure,
        }
    )
    return render(request, "projects/index.html", context)


@login_required
def project_list(request):
    form = ListFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request, "projects/list.html", {"form": form, "rows": [], "total": 0}, status=400
        )
    data = form.cleaned_data
    year = data.get("year") or selectors.default_year(clock.today())
    context = {"form": form, "year": year, "rows": [], "total": 0, "years": selectors.plan_years()}
    if year is None:
        return render(request, "projects/list.html", context)
    filters = selectors.ListFilters(
        plan_year=year,
        project_type=data.get("type") or "",
        sector=data.get("sector") or "",
        stage=data.get("stage") or "",
        department=data["department"].pk if data.get("department") else None,
        q=(data.get("q") or "").strip(),
        late=bool(data.get("late")),
    )
    rows, next_after, total = selectors.project_page(
        selectors.visible_projects(request.user),
        filters,
        clock.today(),
        after=data.get("after"),
        size=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("after", None)
    context.update(
        {
            "rows": rows,
            "total": total,
            "next_url": f"?{query.urlencode()}&after={next_after}" if next_after else None,
            "first_url": f"?{query.urlencode()}" if data.get("after") else None,
            "stages": dict(Stage.choices),
        }
    )
    if request.headers.get("HX-Request"):
        return render(request, "projects/_rows.html", context)
    return render(request, "projects/list.html", context)


def _project_for(request, pk: int) -> Project:
    project = get_object_or_404(Project.objects.select_related("lead_department"), pk=pk)
    if not services.can_view_project(request.user, project):
        raise PermissionDenied(_("This project belongs to another department."))
    return project


def _detail_context(request, project: Project, **extra) -> dict:
    as_of = clock.today()
    can_report = services.can_report_project(request.user, project)
    problems = project.problems.select_related("assigned_department").order_by("status", "deadline")
    context = {
        "project": project,
        "as_of": as_of,
        "stage_now": Stage(project.stage_on(as_of)).label,
        "timeline": selectors.project_timeline(project, as_of),
        "reports": selectors.project_reports(project),
        "problems": problems,
        "completed": selectors.project_completed(project, as_of),
        "can_report": can_report,
        "can_review": request.user.is_planner,
        "can_raise": can_report or request.user.is_planner,
        "report_form": MonthlyReportForm(),
        "problem_form": ProblemForm(),
        "review_form": ReviewForm(),
    }
    context.update(extra)
    return context


@login_required
def detail(request, pk: int):
    project = _project_for(request, pk)
    return render(request, "projects/detail.html", _detail_context(request, project))


@login_required
@require_POST
def report_new(request, pk: int):
    project = _project_for(request, pk)
    if not services.can_report_project(request.user, project):
        raise PermissionDenied(_("Only the project's department reports on it."))
    form = MonthlyReportForm(request.POST)
    photos = request.FILES.getlist("photos")
    if form.is_valid():
        try:
            report = services.report_create(
                project=project, actor=request.user, photos=photos, **form.service_fields()
            )
            if request.POST.get("submit") == "1":
                services.report_submit(report=report, actor=request.user)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Report saved."))
            return redirect(project.get_absolute_url())
    context = _detail_context(request, project, report_form=form)
    return render(request, "projects/detail.html", context, status=400)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _report_for(request, pk: int) -> MonthlyReport:
    report = get_object_or_404(
        MonthlyReport.objects.select_related("project", "project__lead_department"), pk=pk
    )
    if not services.can_view_project(request.user, report.project):
        raise PermissionDenied(_("This project belongs to another department."))
    return report


@login_required
@require_POST
def report_submit(request, pk: int):
    report = _report_for(request, pk)
    try:
        services.report_submit(report=report, actor=request.user)
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    messages.success(request, _("Report submitted for review."))
    return redirect(report.project.get_absolute_url())


@login_required
@require_POST
def report_review(request, pk: int):
    report = _report_for(request, pk)
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose to approve or return the report."))
    try:
        services.report_review(
            report=report,
            actor=request.user,
            approve=form.cleaned_data["decision"] == "approve",
            comment=form.cleaned_data["comment"],
        )
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    messages.success(request, _("Review recorded."))
    return redirect(_next(request, report.project.get_absolute_url()))


@login_required
def photo(request, pk: int):
    item = get_object_or_404(ReportPhoto.objects.select_related("report__project"), pk=pk)
    if not services.can_view_project(request.user, item.report.project):
        raise PermissionDenied(_("This project belongs to another department."))
    return stored_file_response(item.file, item.content_type)


@login_required
@require_POST
def problem_new(request, pk: int):
    project = _project_for(request, pk)
    form = ProblemForm(request.POST)
    if form.is_valid():
        try:
            services.problem_raise(project=project, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Problem raised."))
            return redirect(project.get_absolute_url())
    context = _detail_context(request, project, problem_form=form)
    return render(request, "projects/detail.html", context, status=400)


def _problem_for(request, pk: int) -> Problem:
    problem = get_object_or_404(
        Problem.objects.select_related("project", "assigned_department"), pk=pk
    )
    if not services.can_view_problem(request.user, problem):
        raise PermissionDenied(_("This problem concerns another department."))
    return problem


@login_required
@require_POST
def problem_act(request, pk: int, action: str):
    problem = _problem_for(request, pk)
    try:
        if action == "resolve":
            form = ResolveForm(request.POST)
            if not form.is_valid():
                return HttpResponseBadRequest(_("Say how the problem was solved."))
            services.problem_resolve(
                problem=problem, actor=request.user, resolution=form.cleaned_data["resolution"]
            )
        elif action == "close":
            services.problem_close(problem=problem, actor=request.user)
        else:
            form = ReopenForm(request.POST)
            if not form.is_valid():
                return HttpResponseBadRequest(_("Say why the problem is reopened."))
            services.problem_reopen(problem=problem, actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return HttpResponseBadRequest("; ".join(exc.messages))
    messages.success(request, _("Problem updated."))
    return redirect(_next(request, reverse("projects:problems")))


@login_required
def late(request):
    year, error = _year(request)
    if error:
        return error
    as_of = clock.today()
    rows = []
    total = 0
    if year is not None:
        late_qs = selectors.late_projects(
            year, as_of, projects=selectors.visible_projects(request.user)
        )
        total = late_qs.count()
        rows = list(late_qs[:500])
        for row in rows:
            row.days_late = (as_of - row.next_planned).days
            row.next_label = Stage(row.next_stage).label
    return render(
        request,
        "projects/late.html",
        {"year": year, "as_of": as_of, "rows": rows, "total": total},
    )


@login_required
def problems(request):
    as_of = clock.today()
    visible = selectors.visible_problems(request.user)
    show = request.GET.get("show", "open")
    if show not in ("open", "all"):
        return HttpResponseBadRequest(_("show must be open or all"))
    rows = (
        selectors.open_problems(as_of, problems=visible)
        if show == "open"
        else visible.filter(raised_on__lte=as_of).order_by("-raised_on", "-id")
    )
    rows = list(rows[:500])
    for problem in rows:
        problem.overdue = problem.status == Problem.Status.OPEN and problem.deadline < as_of
        problem.can_resolve = request.user.can_report_for(problem.assigned_department_id)
    return render(
        request,
        "projects/problems.html",
        {
            "rows": rows,
            "show": show,
            "as_of": as_of,
            "counts": selectors.problem_counts_by_department(as_of)
            if request.user.sees_everything
            else None,
            "can_close": request.user.is_planner,
            "resolve_form": ResolveForm(),
            "reopen_form": ReopenForm(),
        },
    )


@login_required
def ledger_download(request):
    year, error = _year(request)
    if error:
        return error
    projects = selectors.visible_projects(request.user, year)
    response = HttpResponse(
        ledger_export(projects),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="projects-{year or "all"}.xlsx"'
    return response


@login_required
def ledger_upload(request):
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    if request.method != "POST":
        return render(request, "projects/ledger_import.html", {"form": LedgerImportForm()})
    form = LedgerImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            upload_check(upload, allowed=("xlsx",))
            result = ledger_import(data=upload.read(), actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Ledger imported: %(c)s created, %(u)s updated, %(n)s unchanged.")
                % {"c": result.created, "u": result.updated, "n": result.unchanged},
            )
            return redirect("projects:list")
    return render(request, "projects/ledger_import.html", {"form": form}, status=400)


@login_required
def project_edit(request, pk: int | None = None):
    """The registry entry and its approval steps, for the supervision office."""
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    project = _project_for(request, pk) if pk is not None else None
    steps = {s.kind: s for s in project.approvals.all()} if project else {}
    if request.method != "POST":
        form = ProjectForm(instance=project)
        approvals = ApprovalsForm(steps=steps)
        return render(
            request,
            "projects/edit.html",
            {"project": project, "form": form, "approvals": approvals},
        )
    form = ProjectForm(request.POST, instance=project or Project())
    approvals = ApprovalsForm(request.POST, steps=steps)
    if form.is_valid() and approvals.is_valid():
        try:
            with transaction.atomic():
                fields = form.service_fields()
                if project is None:
                    project = services.project_create(actor=request.user, **fields)
                else:
                    project = services.project_update(
                        project=project, actor=request.user, changes=fields
                    )
                for kind, _label in approvals.kinds:
                    planned = approvals.cleaned_data[f"{kind}_planned"]
                    actual = approvals.cleaned_data[f"{kind}_actual"]
                    step = steps.get(kind)
                    current = (step.planned_date, step.actual_date) if step else (None, None)
                    if (planned, actual) != current:
                        services.approval_set(
                            project=project,
                            actor=request.user,
                            kind=kind,
                            planned_date=planned,
                            actual_date=actual,
                        )
        except ValidationError as exc:
            if pk is None:
                project = None
            _add_errors(form, exc)
        else:
            messages.success(request, _("Project saved."))
            return redirect(project.get_absolute_url())
    return render(
        request,
        "projects/edit.html",
        {"project": project if pk else None, "form": form, "approvals": approvals},
        status=400,
    )


@login_required
def report_edit(request, pk: int):
    """A draft, changed by its department before it is submitted."""
    report = _report_for(request, pk)
    if not services.can_report_project(request.user, report.project):
        raise PermissionDenied(_("Only the project's department reports on it."))
    if report.status != MonthlyReport.Status.DRAFT:
        return HttpResponseBadRequest(_("Only a draft can be changed."))
    context = {"report": report, "project": report.project}
    if request.method != "POST":
        context["form"] = MonthlyReportForm(
            initial={
                "period_end": report.period_end.strftime("%Y-%m"),
                "month_investment": (report.month_investment / WAN).normalize(),
                "cumulative_investment": (report.cumulative_investment / WAN).normalize(),
                "stage": report.stage,
                "stage_date": report.stage_date,
                "work_done": report.work_done,
                "problems": report.problems,
            }
        )
        return render(request, "projects/report_edit.html", context)
    form = MonthlyReportForm(request.POST)
    if form.is_valid():
        changes = form.service_fields()
        if changes.pop("period_end") != report.period_end:
            form.add_error("period_end", _("The month of a report cannot change."))
        else:
            try:
                services.report_update(
                    report=report,
                    actor=request.user,
                    changes=changes,
                    photos=request.FILES.getlist("photos"),
                )
                if request.POST.get("submit") == "1":
                    services.report_submit(report=report, actor=request.user)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Report saved."))
                return redirect(report.project.get_absolute_url())
    context["form"] = form
    return render(request, "projects/report_edit.html", context, status=400)


@login_required
def reviews(request):
    """Submitted monthly reports waiting for the office's review, oldest first."""
    if not request.user.sees_everything:
        raise PermissionDenied(_("Only planners and leaders review reports."))
    reports = selectors.reports_to_review(request.user)
    total = reports.count()
    return render(
        request,
        "projects/reviews.html",
        {
            "reports": list(reports.prefetch_related("photos")[:200]),
            "total": total,
            "can_review": request.user.is_planner,
        },
    )

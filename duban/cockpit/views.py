from __future__ import annotations

import datetime as dt
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from duban import clock
from duban.accounts.models import Department
from duban.cockpit import charts, evaluation, selectors
from duban.cockpit.forms import SchemeForm
from duban.plans.models import Plan


def _reader(request):
    if not request.user.sees_everything:
        raise PermissionDenied(_("The cockpit is for leaders and the supervision office."))


def _plan() -> Plan | None:
    return Plan.objects.filter(year=clock.today().year).first() or Plan.objects.first()


@login_required
def index(request):
    _reader(request)
    plan = _plan()
    if plan is None:
        return render(request, "cockpit/index.html", {"plan": None})
    data = selectors.cockpit(plan)
    scores = evaluation.scores_for(
        plan=plan,
        period_end=data["as_of"],
        kind="month",
        status=data["status"],
        case_overdue=data["cases"]["overdue"] if data["cases"] else None,
    )
    data.update(
        {
            "wall": request.GET.get("wall") == "1",
            "scores": scores,
            "chart_sections": charts.status_bars(
                data["by_section"], year=plan.year, param="section"
            ),
            "chart_departments": charts.status_bars(
                data["by_department"], year=plan.year, param="department"
            ),
            "chart_ranking": charts.ranking(scores, as_of=data["as_of"]),
            "sparklines": [(card, charts.sparkline(card.trend)) for card in data["headlines"]],
        }
    )
    if data["projects"]:
        data["chart_funnel"] = charts.funnel(data["projects"]["funnel"], year=plan.year)
        data["chart_investment"] = charts.investment_curve(data["projects"]["curve"])
    if data["cases"]:
        data["chart_cases"] = charts.case_volume(data["cases"]["volume"])
    return render(request, "cockpit/index.html", data)


def _period(request, plan: Plan) -> tuple[str, dt.date]:
    kind = request.GET.get("kind", "month")
    if kind not in ("month", "quarter"):
        raise ValidationError(_("kind must be month or quarter"))
    ends = evaluation.period_ends(plan.year, kind, clock.today())
    raw = request.GET.get("period")
    if raw:
        try:
            period = dt.date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(_("period must be a date written YYYY-MM-DD")) from None
        # The cockpit ranks the month so far: its day is a period too.
        if period not in ends and not (kind == "month" and period == clock.today()):
            raise ValidationError(
                _("%(d)s is not the end of a finished period of %(year)s")
                % {"d": raw, "year": plan.year}
            )
        return kind, period
    if not ends:
        raise ValidationError(_("No period of %(year)s has ended yet.") % {"year": plan.year})
    return kind, ends[-1]


@login_required
def evaluation_list(request):
    _reader(request)
    plan = _plan()
    if plan is None:
        return render(request, "cockpit/evaluation.html", {"plan": None})
    try:
        kind, period = _period(request, plan)
    except ValidationError as exc:
        return HttpResponseBadRequest(exc.messages[0])
    scores = evaluation.scores_with_movement(plan=plan, period_end=period, kind=kind)
    if request.GET.get("format") == "xlsx":
        return _xlsx(scores, plan, period)
    context = {
        "plan": plan,
        "kind": kind,
        "period": period,
        "periods": evaluation.period_ends(plan.year, kind, clock.today()),
        "scores": scores,
        "scheme": evaluation.scheme_current(),
        "print": request.GET.get("print") == "1",
    }
    return render(request, "cockpit/evaluation.html", context)


@login_required
def department_score(request, code: str):
    department = get_object_or_404(Department, code=code)
    if not request.user.can_view_department(department.pk):
        raise PermissionDenied(_("This is another department's page."))
    plan = _plan()
    if plan is None:
        return HttpResponseBadRequest(_("There is no plan yet."))
    try:
        kind, period = _period(request, plan)
    except ValidationError as exc:
        return HttpResponseBadRequest(exc.messages[0])
    scores = evaluation.scores_with_movement(
        plan=plan, period_end=period, kind=kind, with_items=True
    )
    score = (
        next(s for s in scores if s.department.pk == department.pk)
        if any(s.department.pk == department.pk for s in scores)
        else None
    )
    if score is None:
        return HttpResponseBadRequest(_("The supervision office is not scored."))
    return render(
        request,
        "cockpit/department_score.html",
        {
            "plan": plan,
            "kind": kind,
            "period": period,
            "score": score,
            "scheme": evaluation.scheme_current(),
            "count": len(scores),
        },
    )


@login_required
def scheme(request):
    if not request.user.is_planner:
        raise PermissionDenied(_("Only the supervision office sets the evaluation scheme."))
    current = evaluation.scheme_current()
    if request.method == "POST":
        form = SchemeForm(request.POST)
        if form.is_valid():
            try:
                evaluation.scheme_update(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("cockpit:evaluation")
        return render(
            request, "cockpit/scheme.html", {"form": form, "current": current}, status=400
        )
    initial = {name: getattr(current, name) for name in SchemeForm.Meta.fields}
    from duban.cockpit.models import EvaluationScheme

    return render(
        request,
        "cockpit/scheme.html",
        {
            "form": SchemeForm(initial=initial),
            "current": current,
            "history": EvaluationScheme.objects.all()[:20],
        },
    )


def _xlsx(scores, plan, period) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = "效能考评"
    sheet.append([f"{plan.year}年 效能考评（截至 {period}）"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(["名次", "单位", "目标任务", "项目建设", "有诉即办", "扣分", "总分", "名次变化"])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for s in scores:
        sheet.append(
            [
                s.rank,
                s.department.name,
                None if s.commitments is None else float(s.commitments),
                None if s.projects is None else float(s.projects),
                None if s.cases is None else float(s.cases),
                float(s.deductions),
                float(s.total),
                s.movement,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="evaluation-{period}.xlsx"'
    return response

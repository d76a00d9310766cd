from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from duban.plans import selectors, services
from duban.plans.forms import ProposalForm, ReportImportForm
from duban.plans.models import Proposal, ReportImport


def _require_planner(user):
    if not user.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))


def _require_reader(user):
    """Proposals are drafts of the supervision office: planners and leaders only."""
    if not user.sees_everything:
        raise PermissionDenied(_("Only planners and leaders can see report imports."))


@login_required
def import_report(request):
    _require_planner(request.user)
    if request.method == "POST":
        form = ReportImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = services.report_import_create(
                    text=form.cleaned_data["report_text"],
                    year=form.cleaned_data.get("year"),
                    title=form.cleaned_data.get("title") or "",
                    actor=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if result.created:
                    messages.success(
                        request,
                        _("%(n)s proposals extracted. Review them, then approve.")
                        % {"n": result.report_import.proposals.count()},
                    )
                else:
                    messages.info(
                        request, _("This report was imported before; here is that import.")
                    )
                return redirect("plans:review", pk=result.report_import.pk)
        return render(request, "plans/import.html", {"form": form}, status=400)
    return render(request, "plans/import.html", {"form": ReportImportForm()})


@login_required
def review(request, pk: int):
    _require_reader(request.user)
    report_import = get_object_or_404(ReportImport.objects.select_related("plan"), pk=pk)
    return render(request, "plans/review.html", selectors.review_page(report_import))


def _proposal_response(request, proposal, *, form=None, editing=False, status=200):
    """One proposal's card for htmx; a whole page for a browser without JavaScript."""
    if form is None:
        form = ProposalForm(instance=proposal, prefix=f"p{proposal.pk}")
    if not request.headers.get("HX-Request") and status == 200 and not editing:
        return redirect(f"{proposal.report_import.get_absolute_url()}#proposal-{proposal.position}")
    siblings = (
        proposal.report_import.proposals.exclude(pk=proposal.pk)
        .exclude(decision__in=[Proposal.Decision.MERGED, Proposal.Decision.REJECTED])
        .filter(stance=proposal.stance)
        .order_by("position")
    )
    context = {
        "p": proposal,
        "form": form,
        "siblings": siblings,
        "editing": editing or form.is_bound,
        "can_edit": request.user.is_planner,
        "reviewing": proposal.report_import.status == ReportImport.Status.REVIEWING,
    }
    template = (
        "plans/_proposal.html" if request.headers.get("HX-Request") else "plans/proposal_page.html"
    )
    return render(request, template, context, status=status)


@login_required
def proposal_edit(request, pk: int):
    _require_planner(request.user)
    proposal = get_object_or_404(Proposal.objects.select_related("report_import"), pk=pk)
    if request.method != "POST":
        return _proposal_response(request, proposal, editing=request.GET.get("cancel") != "1")
    form = ProposalForm(
        request.POST, instance=Proposal.objects.get(pk=pk), prefix=f"p{proposal.pk}"
    )
    if not form.is_valid():
        return _proposal_response(request, proposal, form=form, status=400)
    changes = {name: form.cleaned_data[name] for name in form.changed_data}
    try:
        services.proposal_update(proposal=proposal, actor=request.user, changes=changes)
    except ValidationError as exc:
        form.add_error(None, exc)
        return _proposal_response(request, proposal, form=form, status=400)
    return _proposal_response(request, proposal)


@login_required
@require_POST
def proposal_decide(request, pk: int):
    _require_planner(request.user)
    proposal = get_object_or_404(Proposal.objects.select_related("report_import"), pk=pk)
    decision = request.POST.get("decision", "")
    merge_into = None
    if decision == Proposal.Decision.MERGED:
        target = request.POST.get("merge_into", "")
        if not target.isdigit():
            return HttpResponseBadRequest(_("Choose the proposal to merge into."))
        merge_into = Proposal.objects.filter(pk=int(target)).first()
        if merge_into is None:
            return HttpResponseBadRequest(_("That proposal does not exist."))
    try:
        services.proposal_decide(
            proposal=proposal, actor=request.user, decision=decision, merge_into=merge_into
        )
    except ValidationError as exc:
        if request.headers.get("HX-Request"):
            form = ProposalForm(instance=proposal, prefix=f"p{proposal.pk}")
            form.add_error(None, exc)
            return _proposal_response(request, proposal, form=form, status=400)
        return HttpResponseBadRequest("; ".join(exc.messages))
    return _proposal_response(request, proposal)


@login_required
@require_POST
def approve(request, pk: int):
    _require_planner(request.user)
    report_import = get_object_or_404(ReportImport, pk=pk)
    try:
        commitments = services.report_import_approve(
            report_import=report_import, actor=request.user
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("plans:review", pk=pk)
    messages.success(
        request, _("Approved: %(n)s commitments are now tracked.") % {"n": len(commitments)}
    )
    return redirect(f"{redirect('plans:overview').url}?year={report_import.plan.year}")

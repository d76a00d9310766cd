from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from duban.audit.models import AuditEntry


@login_required
def audit_list(request):
    if not (request.user.role == "admin" or request.user.is_superuser):
        raise PermissionDenied
    # Keyset pagination on seq: the log only grows, and OFFSET would grow with it.
    entries = AuditEntry.objects.order_by("-seq")
    before = request.GET.get("before", "")
    if before:
        if not before.isdigit():
            return HttpResponseBadRequest("before must be a row number")
        entries = entries.filter(seq__lt=int(before))
    page = list(entries[:100])
    return render(
        request,
        "audit/list.html",
        {"entries": page, "next_before": page[-1].seq if len(page) == 100 else None},
    )

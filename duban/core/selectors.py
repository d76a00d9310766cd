"""What each role sees first."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from duban import clock
from duban.plans.models import Commitment, Plan, Proposal, ReportImport


def home_for(user) -> dict:
    today = clock.today()
    plan = Plan.objects.filter(year=today.year).first() or Plan.objects.first()
    context = {"plan": plan, "role": user.role}
    if plan is None:
        return context
    commitments = Commitment.objects.filter(plan=plan)
    if user.sees_everything:
        context["totals"] = commitments.aggregate(
            total=Count("id"),
            unassigned=Count("id", filter=Q(lead_department__isnull=True)),
            due_soon=Count(
                "id", filter=Q(deadline__gte=today, deadline__lte=today + dt.timedelta(days=30))
            ),
            overdue=Count("id", filter=Q(deadline__lt=today)),
        )
        context["pending_imports"] = ReportImport.objects.filter(
            status=ReportImport.Status.REVIEWING
        ).annotate(
            pending=Count("proposals", filter=Q(proposals__decision=Proposal.Decision.PENDING))
        )
    else:
        own = commitments.filter(
            Q(lead_department_id=user.department_id) | Q(co_departments__id=user.department_id)
        ).distinct()
        context["own"] = list(own.order_by("deadline", "id")[:50])
    return context

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from duban import clock


def _nav(user):
    if not user.is_authenticated:
        return []
    items = [(_("Home"), reverse("core:home"))]
    if user.sees_everything or user.role == "reporter":
        items.append((_("Plan"), reverse("plans:overview")))
    if user.is_planner:
        items.append((_("Import report"), reverse("plans:import")))
    if user.role == "admin" or user.is_superuser:
        items.append((_("Audit log"), reverse("audit:list")))
        items.append((_("Administration"), reverse("admin:index")))
    return items


def duban(request):
    user = getattr(request, "user", None)
    return {
        "nav_items": _nav(user) if user is not None else [],
        "today": clock.today(),
        "as_of_pinned": clock.is_pinned(),
        "can_time_travel": bool(user and user.is_authenticated and user.sees_everything),
    }

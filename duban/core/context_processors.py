from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from duban import clock


def _link(items, label, name):
    # A module's pages appear in the navigation once the module provides them.
    try:
        items.append((label, reverse(name)))
    except NoReverseMatch:
        pass


def _nav(user):
    if not user.is_authenticated:
        return []
    if user.is_operator:
        # What a hotline operator can use, and nothing else (accounts.middleware).
        return [
            (_("Hotline"), reverse("cases:hotline")),
            (_("Take a call"), reverse("cases:new")),
            (_("Find a case"), reverse("cases:find")),
        ]
    items = [(_("Home"), reverse("core:home"))]
    items.append((_("Plan"), reverse("plans:overview")))
    if user.is_planner:
        items.append((_("Import report"), reverse("plans:import")))
        items.append((_("Reviews"), reverse("plans:reviews")))
    if user.role == "reporter" and user.department_id:
        items.append((_("My department"), reverse("plans:department", args=[user.department.code])))
    items.append((_("Notices"), reverse("plans:notices")))
    items.append((_("Inbox"), reverse("plans:inbox")))
    _link(items, _("Projects"), "projects:index")
    _link(items, _("Cases"), "cases:index")
    if user.sees_everything:
        _link(items, _("Cockpit"), "cockpit:index")
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

"""Where hotline operators may go.

Operators (话务员) are the case centre's staff on the phone: they enter cases for callers
and look cases up to answer them (duban/cases). The plan, the projects, the cockpit, the
audit log, the administration and the session-authenticated JSON API are not theirs.
Those modules decide access by "sees everything" or "own department", which an operator
is not and has none of; this gate refuses them in one place, with a reason, instead of
letting each page show an operator an empty page (or, if an operator were given a
department, that department's data). It lets through what an operator needs and
nothing else, so a module added later is closed to operators until it opens itself here.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# URL namespaces an operator may use: the cases pages, Open311 (public anyway) and
# logging in and out.
OPERATOR_NAMESPACES = frozenset({"cases", "open311", "accounts"})
# Un-namespaced URL names an operator may use: switching the language, the JavaScript
# catalogue, the health check.
OPERATOR_URL_NAMES = frozenset({"set_language", "javascript-catalog", "healthz"})


def operator_may_use(match) -> bool:
    namespace = match.namespaces[0] if match.namespaces else ""
    if namespace:
        return namespace in OPERATOR_NAMESPACES
    return match.url_name in OPERATOR_URL_NAMES


class OperatorScopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_operator:
            return None
        match = request.resolver_match  # set: process_view runs after the URL resolved
        if match.view_name == "core:home":
            return redirect("cases:index")  # an operator's home is the hotline page
        if not operator_may_use(match):
            raise PermissionDenied(
                _(
                    "Hotline operators work on the cases pages only: enter a call, look a "
                    "case up by its ticket number."
                )
            )
        return None

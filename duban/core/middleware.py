from __future__ import annotations

import datetime as dt

from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.utils.translation import gettext as _

from duban import clock

SESSION_KEY = "duban_as_of"


class AsOfMiddleware:
    """Lets planners and leaders look at the plan as of another day.

    ``?as_of=YYYY-MM-DD`` pins the date for this user's session (so that it survives
    navigation); ``?as_of=`` (empty) returns to today. The pin lives in the session,
    which is in the database, so every worker sees it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(("/api/", "/open311/")):
            # APIs take as_of as an ordinary parameter of the call, not a session pin.
            request.as_of = None
            return self.get_response(request)
        user = getattr(request, "user", None)
        allowed = bool(user and user.is_authenticated and user.sees_everything)
        if "as_of" in request.GET:
            raw = request.GET["as_of"].strip()
            if not allowed:
                return HttpResponseForbidden(_("Only planners and leaders can view another date."))
            if raw in ("", "today"):
                request.session.pop(SESSION_KEY, None)
            else:
                try:
                    day = dt.date.fromisoformat(raw)
                except ValueError:
                    return HttpResponseBadRequest(
                        _("as_of must be a date written YYYY-MM-DD, got %(value)s")
                        % {"value": raw[:40]}
                    )
                if not (2000 <= day.year <= 2100):
                    return HttpResponseBadRequest(_("as_of must be a year between 2000 and 2100"))
                request.session[SESSION_KEY] = day.isoformat()
        pinned = None
        if allowed and hasattr(request, "session"):
            stored = request.session.get(SESSION_KEY)
            if stored:
                pinned = dt.date.fromisoformat(stored)
        request.as_of = pinned
        with clock.as_of(pinned):
            return self.get_response(request)

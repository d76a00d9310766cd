from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.middleware import locale
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty
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
        if request.path_info.startswith(("/api/", "/open311/")):  # under any SCRIPT_NAME
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


class LocaleMiddleware(locale.LocaleMiddleware):
    """Django's LocaleMiddleware, minus the language code it looks for at the start of the
    path when the URLconf has no i18n_patterns() (Duban's has none).

    Without i18n_patterns Django ignores what it finds there, but it still looks on every
    request and again on every answer, and a path such as /api/v1/… or /open311/v2/…
    starts with a word that is no language: a lookup that fails, raising, and so is never
    cached — most of this middleware's cost on an API call. The language (cookie, then
    Accept-Language, then LANGUAGE_CODE), the Vary and the Content-Language are Django's;
    with i18n_patterns in the URLconf the whole of Django's middleware runs.
    """

    def process_request(self, request):
        if self._prefixes_used(request):
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request, response):
        if self._prefixes_used(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    @staticmethod
    def _prefixes_used(request) -> bool:
        urlconf = getattr(request, "urlconf", settings.ROOT_URLCONF)
        return is_language_prefix_patterns_used(urlconf)[0]  # cached by Django per URLconf


class MessageMiddleware(messages_middleware.MessageMiddleware):
    """Django's MessageMiddleware with the message storage made when a message is first
    added or read, instead of on every request.

    Making it (a signer for the cookie storage, the session storage beside it) cost as much
    as any other middleware on an API call or an Open311 intake, which never touch
    messages. A storage nothing touched has nothing to save — Django's update() returns
    without touching the answer — so such an answer goes out as before; any other storage
    is saved by Django's process_response.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)

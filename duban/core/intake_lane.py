"""The intake lane: machine intakes — `POST /api/v1/cases/` and `POST
/open311/v2/requests.json|.xml`, authenticated by an API key — are served by a second
Django handler without the middleware that only browsers' requests use.

Those middleware cost an intake some 6 % of the worker's CPU (callgrind: 5.7 M instructions
per intake, 5.2 M without any middleware at all, 5.36 M through this lane) and do nothing for
these requests: no session (a key, not a cookie, says who calls), no user, no CSRF check
(both views are exempt), no messages, no static files. The rest — security headers, the
language, Content-Length, X-Frame-Options, the as-of date — run as for any request, and
so does any middleware added to settings.MIDDLEWARE later, unless it is named in DROPPED.
Two differences in the answers: `Vary` no longer names `Cookie` (the full stack adds it
because the operators' gate looks at the session's user), and a hotline operator's session
cookie sent along with an API key no longer gets the gate's 403 on POST /api/v1/cases/:
the key, not the cookie, says who files (any holder of the key could file without it).
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

INTAKE_PATHS = frozenset(
    {"/api/v1/cases/", "/open311/v2/requests.json", "/open311/v2/requests.xml"}
)
DROPPED = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "duban.accounts.middleware.OperatorScopeMiddleware",
        "duban.core.middleware.MessageMiddleware",
    }
)


class IntakeHandler(WSGIHandler):
    """Django's WSGI handler with settings.MIDDLEWARE less DROPPED. Made once, when
    duban.wsgi is imported, before any request is served: loading sets settings.MIDDLEWARE
    for the moment it reads it."""

    def load_middleware(self, is_async=False):
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [name for name in full if name not in DROPPED]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class IntakeLane:
    """The WSGI application: intakes to `lane` (an IntakeHandler), the rest to
    `application`."""

    def __init__(self, application):
        self.application = application
        self.lane = IntakeHandler()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in INTAKE_PATHS:
            return self.lane(environ, start_response)
        return self.application(environ, start_response)

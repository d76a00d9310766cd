"""The one place Duban asks for "now".

The process-wide pin (DUBAN_AS_OF) lets the demo show the plan year as of any date;
a per-request pin (``?as_of=`` for planners and leaders, set by AsOfMiddleware) lets
a user look at another day without affecting anyone else. Tests use time_machine,
which moves the real clock underneath.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone

_request_as_of: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar(
    "duban_as_of", default=None
)


def pinned_date() -> dt.date | None:
    return _request_as_of.get() or getattr(settings, "AS_OF", None)


def now() -> dt.datetime:
    """Aware datetime. When pinned, the end of the pinned day (23:59:59 local) so that
    everything that happened on that day counts as past."""
    pinned = pinned_date()
    if pinned is None:
        return timezone.now()
    tz = timezone.get_default_timezone()
    return dt.datetime.combine(pinned, dt.time(23, 59, 59), tzinfo=tz)


def today() -> dt.date:
    pinned = pinned_date()
    if pinned is not None:
        return pinned
    return timezone.localdate()


def is_pinned() -> bool:
    return pinned_date() is not None


@contextmanager
def as_of(day: dt.date | None):
    token = _request_as_of.set(day)
    try:
        yield
    finally:
        _request_as_of.reset(token)


def wall_now() -> dt.datetime:
    """The real time, never pinned: for security timers (login throttling, token expiry)
    and for the audit log, which records when a change really happened."""
    return timezone.now()

from __future__ import annotations

import datetime as dt

from django.conf import settings

from duban import clock
from duban.accounts.models import LoginFailure


def login_is_throttled(*, username: str, address: str | None) -> bool:
    since = clock.wall_now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    if recent.filter(username=username.lower()).count() >= limit:
        return True
    return bool(address) and recent.filter(address=address).count() >= limit * 4


def login_failure_record(*, username: str, address: str | None) -> None:
    LoginFailure.objects.create(
        username=username.lower()[:150], address=address, at=clock.wall_now()
    )
    # Keep the table small: failures older than the window no longer count.
    cutoff = clock.wall_now() - dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW * 4)
    LoginFailure.objects.filter(at__lt=cutoff).delete()


def login_success_record(*, username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()

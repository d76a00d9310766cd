"""Writes of the cases module."""

from __future__ import annotations

from django.db import transaction

from duban.audit.services import audit_record
from duban.cases.models import CalendarDay, WorkdayCalendar
from duban.cases.workdays import calendar_rows_from_package, store_rows


def calendar_load(*, years: list[int] | None = None, actor) -> list[int]:
    """Add the years chinese_calendar knows and the table lacks; keep what is there."""
    with transaction.atomic():
        added = store_rows(
            calendar_rows_from_package(years),
            year_model=WorkdayCalendar,
            day_model=CalendarDay,
            source=WorkdayCalendar.Source.PACKAGE,
        )
        if added:
            audit_record(
                actor=actor,
                action="calendar.load",
                entity="cases.workdaycalendar",
                entity_id=",".join(map(str, added)),
                after={"years": added},
            )
    return added

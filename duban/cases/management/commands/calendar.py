from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from duban.cases.models import CalendarDay, WorkdayCalendar


class Command(BaseCommand):
    help = (
        "The working-day calendar. `duban calendar load` adds the years chinese_calendar "
        "knows and the table does not; `duban calendar show YEAR` lists a year's special days."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load the years chinese_calendar knows (safe to rerun)")
        load.add_argument("--year", type=int, action="append", help="only this year (repeatable)")
        show = sub.add_parser("show", help="list a year's holidays and adjusted working days")
        show.add_argument("year", type=int)

    def handle(self, *args, action, **options):
        if action == "load":
            from duban.cases.services import calendar_load

            added = calendar_load(years=options.get("year"), actor=None)
            covered = list(WorkdayCalendar.objects.values_list("year", flat=True))
            self.stdout.write(
                f"Added {len(added)} year(s){': ' + ', '.join(map(str, added)) if added else ''}; "
                f"the table covers {covered[0] if covered else '-'}–{covered[-1] if covered else '-'}"
                f" ({len(covered)} years)."
            )
        else:
            year = options["year"]
            if not WorkdayCalendar.objects.filter(year=year).exists():
                raise CommandError(f"the calendar does not cover {year}")
            for day in CalendarDay.objects.filter(date__year=year):
                kind = "班" if day.is_workday else "休"
                self.stdout.write(f"{day.date} {kind} {day.name}")

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from None


class Command(BaseCommand):
    help = (
        "Cases. `duban cases rollup --check` compares the daily KPI roll-up with the cases; "
        "`duban cases rollup --rebuild [--start DAY] [--end DAY]` recomputes it from them."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        roll = sub.add_parser("rollup", help="check or rebuild the daily KPI roll-up")
        what = roll.add_mutually_exclusive_group(required=True)
        what.add_argument("--rebuild", action="store_true", help="recompute from the cases")
        what.add_argument("--check", action="store_true", help="compare with the cases")
        roll.add_argument("--start", type=_date, help="first day of receipt (default: all)")
        roll.add_argument("--end", type=_date, help="last day of receipt (default: all)")

    def handle(self, *args, action, **options):
        from duban.cases import rollup

        start, end = options.get("start"), options.get("end")
        if start and end and start > end:
            raise CommandError("--start is after --end")
        if options["rebuild"]:
            n = rollup.rebuild(start=start, end=end)
            self.stdout.write(f"Rebuilt the case roll-up: {n} row(s).")
            return
        wrong = rollup.check(start=start, end=end)
        if wrong:
            for key, stored, counted in wrong[:20]:
                self.stdout.write(f"{key}: stored {stored}, counted {counted}")
            raise CommandError(
                f"{len(wrong)} roll-up row(s) differ from the cases; "
                "run `duban cases rollup --rebuild`."
            )
        self.stdout.write("The case roll-up matches the cases.")

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from duban.accounts.models import Role, User
from duban.extract import ExtractError, decode_report
from duban.plans.services import report_import_approve, report_import_create


class Command(BaseCommand):
    help = "Plan operations. `duban plan import REPORT.txt --year 2022` proposes its commitments."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="extract a work report into proposals for review")
        imp.add_argument("report", help="path of the report, UTF-8 text")
        imp.add_argument("--year", type=int, help="plan year (default: read from the text)")
        imp.add_argument("--title", default="", help="title of the import")
        imp.add_argument(
            "--approve",
            action="store_true",
            help="approve at once: every proposal becomes a commitment or a baseline",
        )
        imp.add_argument(
            "--as",
            dest="username",
            help="planner recorded as the importer (default: the first planner)",
        )

        sup = sub.add_parser(
            "supervise",
            help="daily: draft supervision notices for red or overdue commitments, send reminders",
        )
        sup.add_argument("--year", type=int, help="plan year (default: this year's plan)")
        sup.add_argument("--no-email", action="store_true", help="inbox only, no e-mail")
        exp = sub.add_parser("export", help="write the plan with its status to an Excel file")
        exp.add_argument("output", help="path of the .xlsx file to write")
        exp.add_argument("--year", type=int, help="plan year (default: this year's plan)")

    def handle(self, *args, action, **options):
        if action == "import":
            self.import_report(**options)
        elif action == "supervise":
            self.supervise(**options)
        elif action == "export":
            self.export(**options)

    def _plan(self, year):
        from duban import clock
        from duban.plans.models import Plan

        plan = Plan.objects.filter(year=year or clock.today().year).first()
        if plan is None:
            raise CommandError(f"no plan for {year or clock.today().year}")
        return plan

    def supervise(self, *, year, no_email, **_):
        from duban.plans.tracking import reminders_send, supervision_sweep

        plan = self._plan(year)
        drafted = supervision_sweep(plan=plan)
        sent = reminders_send(plan=plan, email=not no_email)
        self.stdout.write(f"{plan.year}: {len(drafted)} notices drafted, {sent} reminders sent")

    def export(self, *, output, year, **_):
        from duban.plans.selectors import plan_status
        from duban.plans.spreadsheets import plan_export

        if not output.endswith(".xlsx"):
            raise CommandError("the output file must end in .xlsx")
        plan = self._plan(year)
        try:
            Path(output).write_bytes(plan_export(plan_status(plan)))
        except OSError as exc:
            raise CommandError(f"{output}: {exc.strerror}") from None
        self.stdout.write(f"wrote {output}")

    def import_report(self, *, report, year, title, approve, username, **_):
        path = Path(report)
        if not path.is_file():
            raise CommandError(f"{report}: no such file")
        try:
            text = decode_report(path.read_bytes())
        except ExtractError as exc:
            raise CommandError(f"{report}: {exc}") from None
        planners = User.objects.filter(role__in=[Role.PLANNER, Role.ADMIN], is_active=True)
        actor = (
            planners.filter(username=username).first()
            if username
            else planners.order_by("id").first()
        )
        if actor is None:
            raise CommandError(
                f"no active planner named {username!r}"
                if username
                else "create a planner user first"
            )
        try:
            result = report_import_create(
                text=text, year=year, title=title or path.stem, actor=actor
            )
        except ValidationError as exc:
            raise CommandError(f"{report}: {' '.join(exc.messages)}") from None
        report_import = result.report_import
        proposals = report_import.proposals.count()
        verb = "imported" if result.created else "already imported"
        self.stdout.write(
            f"{verb}: {report_import.title} into the {report_import.plan.year} plan, "
            f"{proposals} proposals (import #{report_import.pk})"
        )
        if approve:
            if report_import.status != report_import.Status.REVIEWING:
                self.stdout.write("already approved")
                return
            try:
                commitments = report_import_approve(report_import=report_import, actor=actor)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(f"approved: {len(commitments)} commitments tracked")

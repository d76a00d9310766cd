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

    def handle(self, *args, action, **options):
        if action == "import":
            self.import_report(**options)

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

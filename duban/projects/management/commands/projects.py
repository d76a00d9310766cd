from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from duban.accounts.models import Role, User
from duban.projects.ledger import ledger_export, ledger_import
from duban.projects.models import Project


class Command(BaseCommand):
    help = (
        "Project ledger (台账). `duban projects import FILE.xlsx` loads or updates the registry "
        "(all rows or none); `duban projects export FILE.xlsx [--year 2022]` writes it."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="load a ledger workbook into the registry")
        imp.add_argument("file", help="path of the .xlsx ledger")
        imp.add_argument(
            "--as", dest="username", help="planner recorded as the importer (default: the first)"
        )
        exp = sub.add_parser("export", help="write the registry as a ledger workbook")
        exp.add_argument("file", help="path of the .xlsx to write")
        exp.add_argument("--year", type=int, help="only this plan year")

    def handle(self, *args, action, **options):
        if action == "import":
            self.import_ledger(**options)
        else:
            self.export_ledger(**options)

    def import_ledger(self, *, file, username, **_):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        if path.suffix.lower() != ".xlsx":
            raise CommandError(f"{file}: expected an .xlsx workbook")
        planners = User.objects.filter(role__in=[Role.PLANNER, Role.ADMIN], is_active=True)
        actor = (
            planners.filter(username=username).first()
            if username
            else planners.order_by("id").first()
        )
        if actor is None:
            raise CommandError(
                f"no active planner named {username!r}" if username else "create a planner first"
            )
        try:
            result = ledger_import(data=path.read_bytes(), actor=actor)
        except ValidationError as exc:
            messages = exc.messages
            for message in messages[1:]:
                self.stderr.write(message)
            more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
            raise CommandError(f"{file}: nothing imported: {messages[0]}{more}") from None
        self.stdout.write(
            f"imported {file}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )

    def export_ledger(self, *, file, year, **_):
        projects = Project.objects.all()
        if year is not None:
            projects = projects.filter(plan_year=year)
        path = Path(file)
        if path.parent and not path.parent.is_dir():
            raise CommandError(f"{file}: the directory does not exist")
        try:
            path.write_bytes(ledger_export(projects))
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        self.stdout.write(f"exported {projects.count()} projects to {file}")

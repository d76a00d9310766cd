from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from duban.core.progress import Progress
from duban.demo import DEMO_PASSWORD, USERS, build_demo


class Command(BaseCommand):
    help = "Create or update the database and load the demo data (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--cases",
            type=int,
            default=None,
            help="how many citizen cases to generate (default: a realistic year, over 100,000)",
        )

    def handle(self, *args, cases=None, **options):
        if cases is not None and not (0 <= cases <= 2_000_000):
            raise CommandError("--cases must be between 0 and 2000000")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        progress = Progress(5, "demo")
        summary = build_demo(progress=progress, cases_total=cases)
        seconds = progress.finish()
        self.stdout.write(
            f"Demo data ready in {seconds:.1f}s: {summary.departments} departments, "
            f"{summary.users} users, {summary.commitments} commitments."
        )
        for line in summary.details:
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, full_name, role, _department in USERS:
            self.stdout.write(f"  {username:<10} {role.label:<14} {full_name}")

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from duban.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log operations. `duban audit verify` checks the hash chain."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "verify", help="check every row's hash and link; report the first broken row"
        )

    def handle(self, *args, action, **options):
        if action == "verify":
            result = audit_verify()
            if not result.ok:
                raise CommandError(
                    f"audit chain broken at row {result.first_broken_seq}: {result.reason}"
                    f" ({result.checked} rows before it are intact)"
                )
            self.stdout.write(f"audit chain intact: {result.checked} rows")

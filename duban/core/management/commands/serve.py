from __future__ import annotations

import os
import shutil
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve Duban with gunicorn (static files through WhiteNoise)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help="host:port (default 127.0.0.1:8000)"
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="gunicorn worker processes (default 2)"
        )
        parser.add_argument(
            "--no-collectstatic", action="store_true", help="skip collecting static files"
        )

    def handle(self, *args, bind, workers, no_collectstatic, **options):
        if workers < 1 or workers > 64:
            raise CommandError("--workers must be between 1 and 64")
        if ":" not in bind:
            raise CommandError("--bind must be host:port, e.g. 127.0.0.1:8000")
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which(
            "gunicorn"
        )
        if gunicorn is None:
            raise CommandError("gunicorn is not installed (pip install -r requirements.txt)")
        host, port = bind.rsplit(":", 1)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.stdout.write(f"Duban is running at http://{shown}:{port}/  (Ctrl+C to stop)")
        self.stdout.flush()
        args = [
            gunicorn,
            "duban.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
        ]
        if os.path.isdir("/dev/shm"):
            args += ["--worker-tmp-dir", "/dev/shm"]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
        sys.stdout.flush()
        os.execv(gunicorn, args)

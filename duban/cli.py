"""The `duban` command: Django's management commands plus `duban extract`, which needs
no database and so skips Django entirely."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "extract":
        from duban.extract.cli import main as extract_main

        return extract_main(argv[1:])

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        import django

        django.setup()
    except ImproperlyConfigured as exc:
        print(f"duban: configuration error: {exc}", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["duban", *argv])
    except KeyboardInterrupt:
        print("duban: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

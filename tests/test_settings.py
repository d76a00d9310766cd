from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from duban import env

ROOT = Path(__file__).resolve().parent.parent


def test_every_variable_is_documented():
    # docs/configuration.md lists the platform's variables; a module may document its own
    # in its docs page.
    doc = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    read_by_code = set(env.KNOWN)
    # Also catch a variable read anywhere else in the code, bypassing duban/env.py.
    for path in (ROOT / "duban").rglob("*.py"):
        read_by_code |= set(
            re.findall(r"\b(DUBAN_[A-Z_]+|DATABASE_URL)\b", path.read_text(encoding="utf-8"))
        )
    assert read_by_code, "found no variables at all"
    missing = sorted(name for name in read_by_code if f"`{name}`" not in doc)
    assert missing == []


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)]
)
def test_bool_parser_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("DUBAN_X_TEST", raw)
    assert env.env_bool("DUBAN_X_TEST", not expected, "test") is expected


@pytest.mark.parametrize(
    ("parser", "raw"),
    [
        (lambda: env.env_bool("DUBAN_X_TEST", False, "t"), "maybe"),
        (lambda: env.env_int("DUBAN_X_TEST", 1, "t"), "ten"),
        (lambda: env.env_int("DUBAN_X_TEST", 1, "t", minimum=5), "2"),
        (lambda: env.env_date("DUBAN_X_TEST", "t"), "2022-13-01"),
        (lambda: env.env_choice("DUBAN_X_TEST", "a", ("a", "b"), "t"), "c"),
    ],
)
def test_parsers_refuse_wrong_values_naming_the_variable(monkeypatch, parser, raw):
    monkeypatch.setenv("DUBAN_X_TEST", raw)
    with pytest.raises(ImproperlyConfigured, match="DUBAN_X_TEST"):
        parser()


def test_database_url_postgres():
    db = env.parse_database_url("postgres://u%40x:p%2Fw@db.example:5433/duban?sslmode=require")
    assert db["ENGINE"] == "duban.core.postgresql"  # Django's, with a cheaper health check
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u@x",
        "p/w",
        "db.example",
        "5433",
        "duban",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "postgres://u@h:port/db", "postgres://u@h:5432/", "sqlite://"]
)
def test_database_url_refuses_what_it_cannot_use(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env.parse_database_url(url)


def test_database_url_sqlite_paths():
    assert env.parse_database_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    assert env.parse_database_url("sqlite:///var/x.db")["NAME"] == "var/x.db"


def _run_duban(args, **extra_env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    environment.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "duban.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = _run_duban(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DUBAN_SECRET_KEY="x7!kq" * 12,
        DUBAN_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_outside_debug_is_one_clear_line(tmp_path):
    result = _run_duban(["check"], DUBAN_VAR_DIR=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "duban: configuration error: DUBAN_SECRET_KEY must be set when DUBAN_DEBUG is off"
    )


def test_wrong_value_stops_startup_with_one_line(tmp_path):
    result = _run_duban(["check"], DUBAN_DEBUG="sometimes", DUBAN_VAR_DIR=str(tmp_path))
    assert result.returncode == 2
    assert "DUBAN_DEBUG" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("prepare", "expected"), [("", "True None"), ("0", "False None")])
def test_prepared_statements_setting(tmp_path, prepare, expected):
    """DUBAN_DB_PREPARE: on by default (core.sql prepares its statements itself); psycopg's
    own preparing stays off either way (Django's threshold None)."""
    extra = {"DUBAN_DB_PREPARE": prepare} if prepare else {}
    result = _run_duban(
        [
            "shell",
            "-c",
            "from django.conf import settings; print(settings.DB_PREPARE, "
            "settings.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold'))",
        ],
        DUBAN_SECRET_KEY="x7!kq" * 12,
        DUBAN_VAR_DIR=str(tmp_path),
        DATABASE_URL="postgres://u@localhost:5432/name",
        **extra,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from duban import demo
from duban.accounts.models import Department, User
from duban.audit.services import audit_verify
from duban.plans.models import Commitment, ProgressReport, ReportImport, SupervisionNotice
from duban.plans.selectors import plan_status

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db(transaction=True)
def test_demo_loads_and_is_safe_to_run_twice(capsys):
    call_command("demo", "--cases", "300")
    out = capsys.readouterr().out
    assert "planner" in out and demo.DEMO_PASSWORD in out
    counts = (Department.objects.count(), User.objects.count(), Commitment.objects.count())
    assert counts[0] == len(demo.DEPARTMENTS) and counts[1] == len(demo.USERS)
    assert counts[2] >= 40  # the fixture report's targets
    assert not Commitment.objects.filter(lead_department__isnull=True).exists()
    gdp = Commitment.objects.get(indicator="地区生产总值", measure="level")
    assert gdp.baseline_value == 127030000000 and gdp.baseline_year == 2021
    # The story as of 2022-09-30: most on pace, a minority behind or lagging, some reports
    # overdue, notices open.
    story = plan_status(Commitment.objects.first().plan, as_of=demo.DEMO_AS_OF).counts
    assert story["green"] > counts[2] / 2
    assert 3 <= story["yellow"] + story["red"] <= counts[2] / 3
    assert story["overdue"] >= 1
    open_notices = SupervisionNotice.objects.filter(
        status__in=["draft", "issued", "replied"]
    ).count()
    assert open_notices >= 3
    reports = ProgressReport.objects.count()
    # The pipeline feeds the two commitments about starting projects.
    computed = Commitment.objects.filter(data_source="computed")
    assert set(computed.values_list("metric", flat=True)) == {
        "projects.new_start_rate_by_q3",
        "projects.preparatory_start_rate",
    }
    from duban.projects.models import Project

    assert Project.objects.count() == 848
    call_command("demo", "--cases", "300")
    assert (Department.objects.count(), User.objects.count(), Commitment.objects.count()) == counts
    assert ProgressReport.objects.count() == reports
    assert ReportImport.objects.count() == 1
    assert audit_verify().ok
    assert User.objects.get(username="planner").check_password(demo.DEMO_PASSWORD)


def test_demo_report_is_carried_by_the_project():
    own = ROOT / "duban" / "demo_data" / demo.REPORT_NAME
    shared = ROOT.parent / "shared" / "fixtures" / demo.REPORT_NAME
    assert own.is_file()
    if shared.is_file():
        assert own.read_bytes() == shared.read_bytes()


def test_plan_import_command(db, planner, capsys, tmp_path):
    report = tmp_path / "r.txt"
    report.write_text(
        "2022年工作目标\n\n2022年，全区地区生产总值达到540亿元，新增停车位6000个。\n",
        encoding="utf-8",
    )
    call_command("plan", "import", str(report), "--year", "2022", "--approve")
    out = capsys.readouterr().out
    assert "imported" in out and "approved" in out
    assert Commitment.objects.filter(plan__year=2022).count() >= 2
    call_command("plan", "import", str(report), "--year", "2022", "--approve")
    out = capsys.readouterr().out
    assert "already imported" in out and Commitment.objects.filter(plan__year=2022).count() >= 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"\xff\xfe\x00bad", "UTF-8"), (b"", "empty")],
)
def test_plan_import_command_errors(db, planner, tmp_path, content, message):
    report = tmp_path / "r.txt"
    if content is not None:
        report.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("plan", "import", str(report), "--year", "2022")
    assert ReportImport.objects.count() == 0


def test_plan_import_needs_a_planner(db, tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("2022年地区生产总值达到540亿元。", encoding="utf-8")
    with pytest.raises(CommandError, match="planner"):
        call_command("plan", "import", str(report), "--year", "2022")


def _duban(*args):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DUBAN_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "duban.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("sub", ["demo", "serve", "audit", "plan", "extract"])
def test_every_subcommand_has_help(sub):
    result = _duban(sub, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


def test_unknown_subcommand_is_one_line_error():
    result = _duban("frobnicate")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "frobnicate" in result.stderr


def test_serve_refuses_bad_options():
    result = _duban("serve", "--workers", "0", "--no-collectstatic")
    assert result.returncode != 0
    assert "workers" in result.stderr and "Traceback" not in result.stderr


def test_plan_supervise_and_export_commands(db, planner, dept, capsys, tmp_path):
    import datetime as dt

    import time_machine

    from tests.plans.factories import approved_report, make_commitment, make_plan

    plan = make_plan(2022)
    approved_report(make_commitment(plan, dept), dt.date(2022, 6, 30), 100)
    with time_machine.travel(dt.datetime(2022, 7, 10, 9, tzinfo=dt.UTC), tick=False):
        call_command("plan", "supervise", "--no-email")
        assert "1 notices drafted" in capsys.readouterr().out
        out = tmp_path / "plan.xlsx"
        call_command("plan", "export", str(out))
        assert out.read_bytes()[:2] == b"PK"
        with pytest.raises(CommandError, match="xlsx"):
            call_command("plan", "export", str(tmp_path / "plan.csv"))
        with pytest.raises(CommandError, match="no plan"):
            call_command("plan", "supervise", "--year", "2031")

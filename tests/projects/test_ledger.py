"""The ledger spreadsheet (台账): round trip, row-level errors, all or nothing, the command."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook, load_workbook

from duban.audit.models import AuditEntry
from duban.projects.ledger import COLUMNS, SHEET, ledger_export, ledger_import
from duban.projects.models import ApprovalStep, Project

D = dt.date
HEADERS = [c.header for c in COLUMNS]

pytestmark = pytest.mark.usefixtures("pinned")


@pytest.fixture
def pinned():
    with time_machine.travel(dt.datetime(2022, 9, 30, 10, tzinfo=dt.UTC), tick=False):
        yield


def row(**cells):
    base = {
        "年度": 2022,
        "项目编号": "ZD-001",
        "项目名称": "中原科技城智慧岛三期",
        "行业领域": "科技创新",
        "项目类型": "新开工",
        "牵头单位": "城市管理局",
        "业主单位": "郑东新区建设投资有限公司",
        "建设地址": "龙子湖智慧岛",
        "纬度": 34.7712,
        "经度": 113.7765,
        "总投资（万元）": 125000.5,
        "年度计划投资（万元）": 30000,
        "开工计划日期": dt.datetime(2022, 6, 30),
        "开工实际日期": "2022-07-08",
        "用地实际日期": "2022/05/20",
    }
    base.update(cells)
    return base


def workbook(*rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.title = SHEET
    sheet.append(headers)
    for r in rows:
        sheet.append([r.get(h) for h in headers])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_import_creates_projects_with_amounts_in_yuan(planner, dept):
    result = ledger_import(
        data=workbook(row(), row(项目编号="ZD-002", 项目类型="前期")), actor=planner
    )
    assert (result.created, result.updated) == (2, 0)
    p = Project.objects.get(code="ZD-001")
    assert p.total_investment == Decimal("1250005000.00")
    assert p.annual_investment == Decimal("300000000.00")
    assert p.start_planned == D(2022, 6, 30) and p.start_actual == D(2022, 7, 8)
    assert p.lead_department == dept and p.sector == "technology" and p.project_type == "new"
    assert p.latitude == Decimal("34.771200")
    assert ApprovalStep.objects.get(project=p, kind="land").actual_date == D(2022, 5, 20)
    assert AuditEntry.objects.filter(action="project.import").count() == 2


def test_round_trip_export_then_import_changes_nothing(planner, dept):
    ledger_import(
        data=workbook(row(), row(项目编号="ZD-002", 纬度=None, 经度=None, 用地实际日期=None)),
        actor=planner,
    )
    before = list(Project.objects.order_by("code").values())
    exported = ledger_export(Project.objects.all())
    sheet = load_workbook(io.BytesIO(exported)).active
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["K2"].value == pytest.approx(125000.5)
    result = ledger_import(data=exported, actor=planner)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert list(Project.objects.order_by("code").values()) == before
    # Edit one cell of the exported file: that project, and only it, is updated.
    wb = load_workbook(io.BytesIO(exported))
    wb.active["C3"] = "改名后的项目"
    buffer = io.BytesIO()
    wb.save(buffer)
    result = ledger_import(data=buffer.getvalue(), actor=planner)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert Project.objects.get(code="ZD-002").name == "改名后的项目"


def test_every_error_names_its_row_and_column_and_nothing_is_written(planner, dept):
    data = workbook(
        row(),
        row(项目编号="ZD-002", 项目类型="新建"),
        row(项目编号="ZD-003", **{"总投资（万元）": "很多", "牵头单位": "不存在局"}),
        row(项目编号="ZD-001"),
        row(项目编号="ZD-004", 开工实际日期="2022-13-01"),
        row(项目编号="ZD-005", **{"年度计划投资（万元）": 999999}),
        row(项目编号="ZD-006", 开工实际日期="2022-10-08"),
    )
    with pytest.raises(ValidationError) as exc:
        ledger_import(data=data, actor=planner)
    messages = exc.value.messages
    joined = "\n".join(messages)
    assert "Row 3, column E (项目类型)" in joined
    assert "Row 4, column K (总投资（万元）): not a number" in joined
    assert "Row 4, column F (牵头单位)" in joined
    assert "Row 5, column B (项目编号): the same code is on row 2" in joined
    assert "Row 6, column P (开工实际日期)" in joined
    assert "Row 7, column L (年度计划投资（万元）)" in joined  # exceeds the total
    assert "Row 8, column P (开工实际日期)" in joined  # in the future on 2022-09-30
    assert len(messages) == 7
    assert not Project.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_row_failing_the_registry_rules_rolls_back_the_whole_file(planner, dept):
    ledger_import(data=workbook(row()), actor=planner)
    data = workbook(
        row(项目名称="已改"),
        row(项目编号="ZD-009", 主体施工实际日期="2022-08-01", 开工实际日期=None),
    )
    with pytest.raises(ValidationError) as exc:
        ledger_import(data=data, actor=planner)
    assert "Row 3" in exc.value.messages[0] and "主体施工实际日期" in exc.value.messages[0]
    assert Project.objects.get().name == "中原科技城智慧岛三期"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really a zip", "not a readable"),
        (workbook(headers=["年度", "项目名称"]), "lacks the required columns"),
        (workbook(), "no project rows"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(planner, data, message):
    with pytest.raises(ValidationError) as exc:
        ledger_import(data=data, actor=planner)
    assert message in exc.value.messages[0]


def test_reporters_cannot_import(owner, dept):
    with pytest.raises(PermissionDenied):
        ledger_import(data=workbook(row()), actor=owner)


def test_command_imports_and_exports(planner, dept, tmp_path, capsys):
    source = tmp_path / "ledger.xlsx"
    source.write_bytes(workbook(row(), row(项目编号="ZD-002")))
    call_command("projects", "import", str(source))
    assert "2 created" in capsys.readouterr().out
    target = tmp_path / "out.xlsx"
    call_command("projects", "export", str(target), "--year", "2022")
    assert "exported 2 projects" in capsys.readouterr().out
    call_command("projects", "import", str(target))
    assert "2 unchanged" in capsys.readouterr().out


def test_command_errors_are_one_line(planner, dept, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("projects", "import", str(tmp_path / "missing.xlsx"))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook(row(项目类型="新建"), row(项目编号="X2", 项目类型="旧的")))
    with pytest.raises(CommandError) as exc:
        call_command("projects", "import", str(bad))
    text = str(exc.value)
    assert "\n" not in text and "nothing imported" in text and "Row 2" in text
    assert "(and 1 more)" in text
    assert not Project.objects.exists()


def test_a_bad_year_cell_is_reported_not_crashed_on(planner, dept):
    with pytest.raises(ValidationError) as exc:
        ledger_import(
            data=workbook(row(年度="二〇二二"), row(项目编号="B", 年度=None)), actor=planner
        )
    messages = exc.value.messages
    assert len(messages) == 2
    assert messages[0].startswith("Row 2, column A (年度)")
    assert messages[1].startswith("Row 3, column A (年度): this column is required")

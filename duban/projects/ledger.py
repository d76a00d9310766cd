"""The project ledger spreadsheet (项目台账): read and write the registry as .xlsx.

The layout is the one the office keeps by hand: one row per project, Chinese headers,
amounts in 万元, dates as dates. Import is all or nothing: every row is checked first, and
each problem names its row and column (第5行 F列「项目类型」: …); only a clean file writes
anything. Rows are matched to the registry by (年度, 项目编号): a known project is updated,
a new one created. Export writes the same layout, so an exported file imports unchanged."""

from __future__ import annotations

import copy
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from duban import clock
from duban.accounts.models import Department
from duban.audit.services import audit_record, snapshot
from duban.projects.models import (
    STAGE_ORDER,
    ApprovalKind,
    ApprovalStep,
    Project,
    ProjectType,
    Sector,
)
from duban.projects.services import _require_planner, project_check

SHEET = "项目台账"
MAX_ROWS = 20000
MAX_ERRORS = 200
WAN = Decimal("10000")
CENT = Decimal("0.01")

TYPE_LABELS = {
    ProjectType.NEW: "新开工",
    ProjectType.CONTINUING: "续建",
    ProjectType.PREPARATORY: "前期",
    ProjectType.COMPLETING: "竣工投用",
}
SECTOR_LABELS = {
    Sector.INDUSTRY: "工业",
    Sector.TECHNOLOGY: "科技创新",
    Sector.FINANCE: "金融总部",
    Sector.COMMERCE: "商贸服务",
    Sector.INFRASTRUCTURE: "基础设施",
    Sector.URBAN: "城市更新",
    Sector.HOUSING: "安置住房",
    Sector.SOCIAL: "社会事业",
    Sector.ECOLOGY: "生态环保",
}
STAGE_LABELS = {
    "prep": "前期手续",
    "start": "开工",
    "main": "主体施工",
    "topped": "主体封顶",
    "complete": "竣工",
    "operate": "投用",
}
APPROVAL_LABELS = {
    ApprovalKind.APPROVAL: "立项",
    ApprovalKind.LAND: "用地",
    ApprovalKind.PLANNING: "规划许可",
    ApprovalKind.EIA: "环评",
    ApprovalKind.CONSTRUCTION: "施工许可",
}


@dataclass(frozen=True)
class Column:
    key: str  # a Project field, or approval:<kind>:planned|actual
    header: str
    kind: str  # year, text, choice, department, decimal, amount, date
    required: bool = False
    width: int = 12


COLUMNS: list[Column] = [
    Column("plan_year", "年度", "year", True, 8),
    Column("code", "项目编号", "text", True, 16),
    Column("name", "项目名称", "text", True, 36),
    Column("sector", "行业领域", "sector", True, 12),
    Column("project_type", "项目类型", "type", True, 10),
    Column("lead_department", "牵头单位", "department", True, 20),
    Column("owner_company", "业主单位", "text", False, 28),
    Column("address", "建设地址", "text", False, 28),
    Column("latitude", "纬度", "decimal", False, 10),
    Column("longitude", "经度", "decimal", False, 10),
    Column("total_investment", "总投资（万元）", "amount", True, 14),
    Column("annual_investment", "年度计划投资（万元）", "amount", True, 14),
    *[
        Column(f"{stage}_{which}", f"{STAGE_LABELS[stage]}{label}", "date")
        for stage in STAGE_ORDER
        for which, label in (("planned", "计划日期"), ("actual", "实际日期"))
    ],
    *[
        Column(f"approval:{kind}:{which}", f"{APPROVAL_LABELS[kind]}{label}", "date")
        for kind in ApprovalKind.values
        for which, label in (("planned", "计划日期"), ("actual", "实际日期"))
    ],
]
BY_HEADER = {c.header: c for c in COLUMNS}
BY_KEY = {c.key: c for c in COLUMNS}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _cell_error(row: int, letter: str, header: str, message: str) -> str:
    return _("Row %(row)s, column %(col)s (%(header)s): %(message)s") % {
        "row": row,
        "col": letter,
        "header": header,
        "message": message,
    }


def _parse(column: Column, value, departments: dict[str, Department]):
    """The cell's value as the registry stores it, or ValueError with the reason."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if column.required:
            raise ValueError(_("this column is required"))
        return "" if column.kind == "text" else None
    if column.kind == "text":
        text = str(value).strip()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        limit = Project._meta.get_field(column.key).max_length
        if len(text) > limit:
            raise ValueError(_("longer than %(n)s characters") % {"n": limit})
        return text
    if column.kind == "year":
        if isinstance(value, bool) or not (
            isinstance(value, int)
            or (isinstance(value, str) and value.isdigit())
            or (isinstance(value, float) and value.is_integer())
        ):
            raise ValueError(_("not a year"))
        year = int(value)
        if not 2000 <= year <= 2100:
            raise ValueError(_("not a year between 2000 and 2100"))
        return year
    if column.kind in ("decimal", "amount"):
        if isinstance(value, (bool, dt.date)):
            raise ValueError(_("not a number"))
        try:
            number = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("not a number")) from None
        if not number.is_finite():
            raise ValueError(_("not a number"))
        if column.kind == "amount":
            if number < 0:
                raise ValueError(_("cannot be negative"))
            number = (number * WAN).quantize(CENT, rounding=ROUND_HALF_UP)
            if number >= Decimal("1e16"):
                raise ValueError(_("too large"))
            return number
        return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    if column.kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"):
                try:
                    return dt.datetime.strptime(value, fmt).date()
                except ValueError:
                    continue
        raise ValueError(_("not a date (YYYY-MM-DD)"))
    if column.kind == "type":
        return _choice(value, TYPE_LABELS)
    if column.kind == "sector":
        return _choice(value, SECTOR_LABELS)
    if column.kind == "department":
        department = departments.get(str(value).strip())
        if department is None:
            raise ValueError(_("no department named %(name)s") % {"name": value})
        return department
    raise AssertionError(column.kind)


def _choice(value, labels: dict) -> str:
    text = str(value).strip()
    for key, label in labels.items():
        if text in (label, str(key)):
            return str(key)
    raise ValueError(_("expected one of %(choices)s") % {"choices": "、".join(labels.values())})


def _open(data: bytes):
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationError(
            _("The file is not a readable .xlsx workbook (%(why)s).") % {"why": type(exc).__name__}
        ) from None
    sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
    return workbook, sheet


@dataclass
class _Row:
    number: int
    fields: dict
    approvals: dict  # kind -> (planned, actual)
    failed: bool = False
    errors: list[str] = field(default_factory=list)


def ledger_read(data: bytes) -> tuple[list[_Row], list[str], dict[str, int]]:
    """Parse and check every row; return the rows and every error found (none written)."""
    workbook, sheet = _open(data)
    try:
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return [], [_("The sheet is empty.")], {}
        positions: dict[str, int] = {}
        for index, title in enumerate(header):
            title = str(title).strip() if title is not None else ""
            if title in BY_HEADER:
                if BY_HEADER[title].key in positions:
                    return [], [_("The column %(h)s appears twice.") % {"h": title}], {}
                positions[BY_HEADER[title].key] = index
        missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
        if missing:
            message = _("Row 1 lacks the required columns: %(cols)s.")
            return [], [message % {"cols": "、".join(missing)}], {}
        departments: dict[str, Department] = {}
        for department in Department.objects.all():
            departments[department.name] = department
            departments[department.code] = department
        parsed: list[_Row] = []
        errors: list[str] = []
        seen: dict[tuple, int] = {}
        for number, values in enumerate(rows, start=2):
            if values is None or all(
                v is None or (isinstance(v, str) and not v.strip()) for v in values
            ):
                continue
            if len(parsed) >= MAX_ROWS:
                errors.append(_("More than %(n)s projects in one file.") % {"n": MAX_ROWS})
                break
            row = _Row(number, {}, {})
            for key, index in positions.items():
                column = BY_KEY[key]
                value = values[index] if index < len(values) else None
                try:
                    result = _parse(column, value, departments)
                except ValueError as exc:
                    row.errors.append(
                        _cell_error(number, get_column_letter(index + 1), column.header, str(exc))
                    )
                    row.failed = True
                    continue
                if key.startswith("approval:"):
                    _prefix, kind, which = key.split(":")
                    planned, actual = row.approvals.get(kind, (None, None))
                    row.approvals[kind] = (
                        (result, actual) if which == "planned" else (planned, result)
                    )
                else:
                    row.fields[key] = result
            identity = (row.fields.get("plan_year"), row.fields.get("code"))
            if all(identity):
                if identity in seen:
                    row.errors.append(
                        _cell_error(
                            number,
                            get_column_letter(positions["code"] + 1),
                            BY_KEY["code"].header,
                            _("the same code is on row %(row)s") % {"row": seen[identity]},
                        )
                    )
                seen.setdefault(identity, number)
            parsed.append(row)
        return parsed, errors, positions
    finally:
        workbook.close()


def _check_rows(rows: list[_Row], positions: dict, existing: dict) -> None:
    """The registry's own rules (project_check) on each parsed row, errors mapped back to
    the columns they come from."""
    today, now = clock.today(), clock.wall_now()
    for row in rows:
        if row.failed:
            continue  # a cell of it already failed; its cross-field rules would only echo that
        known = existing.get((row.fields["plan_year"], row.fields["code"]))
        project = copy.copy(known) if known is not None else Project(created_at=now, updated_at=now)
        for name, value in row.fields.items():
            setattr(project, name, value)
        try:
            project_check(project, check_code=False)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                index = positions.get(key)
                letter = get_column_letter(index + 1) if index is not None else "?"
                header = BY_KEY[key].header if key in BY_KEY else key
                for message in messages:
                    row.errors.append(_cell_error(row.number, letter, header, message))
        for kind, (_planned, actual) in row.approvals.items():
            if actual is not None and actual > today:
                key = f"approval:{kind}:actual"
                row.errors.append(
                    _cell_error(
                        row.number,
                        get_column_letter(positions[key] + 1),
                        BY_KEY[key].header,
                        _("An actual date cannot be in the future."),
                    )
                )


def ledger_import(*, data: bytes, actor) -> ImportResult:
    """Check every row, then write all of them in one transaction, or nothing."""
    _require_planner(actor)
    rows, errors, positions = ledger_read(data)
    if errors:
        raise ValidationError(_limit(errors))
    if not rows:
        raise ValidationError(_("The file has no project rows."))
    try:
        return _write(rows, positions, actor)
    except IntegrityError:  # a project of the file registered meanwhile by someone else
        raise ValidationError(
            _("The registry changed while the file was imported; nothing was written. Try again.")
        ) from None


def _write(rows: list[_Row], positions: dict, actor) -> ImportResult:
    result = ImportResult()
    with transaction.atomic():
        years = {r.fields.get("plan_year") for r in rows if not r.failed}
        existing = {
            (p.plan_year, p.code): p
            for p in Project.objects.select_for_update().filter(plan_year__in=years)
        }
        _check_rows(rows, positions, existing)
        errors = [error for row in rows for error in row.errors]
        if errors:
            raise ValidationError(_limit(errors))
        now = clock.wall_now()
        steps = {
            (s.project_id, s.kind): s
            for s in ApprovalStep.objects.filter(project__in=list(existing.values()))
        }
        for row in rows:
            project = existing.get((row.fields["plan_year"], row.fields["code"]))
            if project is None:
                project = Project(created_at=now, updated_at=now, **row.fields)
                project.save()
                audit_record(
                    actor=actor, action="project.import", instance=project, after=snapshot(project)
                )
                result.created += 1
                before = None
            else:
                before = snapshot(project)
                for name, value in row.fields.items():
                    setattr(project, name, value)
            changed_steps = _apply_approvals(project, row.approvals, steps)
            if before is not None:
                after = snapshot(project)
                if after != before or changed_steps:
                    project.updated_at = now
                    project.save()
                    after["approvals"] = changed_steps
                    audit_record(
                        actor=actor,
                        action="project.import",
                        instance=project,
                        before=before,
                        after=after,
                    )
                    result.updated += 1
                else:
                    result.unchanged += 1
        audit_record(
            actor=actor,
            action="project.ledger_import",
            entity="projects.ledger",
            after={"created": result.created, "updated": result.updated, "rows": len(rows)},
        )
    return result


def _apply_approvals(project: Project, approvals: dict, steps: dict) -> dict:
    changed = {}
    for kind, (planned, actual) in approvals.items():
        step = steps.get((project.pk, kind))
        if step is None:
            if planned is None and actual is None:
                continue
            ApprovalStep.objects.create(
                project=project, kind=kind, planned_date=planned, actual_date=actual
            )
        elif (step.planned_date, step.actual_date) != (planned, actual):
            step.planned_date, step.actual_date = planned, actual
            step.save(update_fields=["planned_date", "actual_date"])
        else:
            continue
        changed[kind] = [planned, actual]
    return changed


def _limit(errors: list[str]) -> list[str]:
    if len(errors) <= MAX_ERRORS:
        return errors
    return errors[:MAX_ERRORS] + [_("… and %(n)s more problems.") % {"n": len(errors) - MAX_ERRORS}]


def ledger_export(projects) -> bytes:
    """The registry rows as a ledger workbook in the import layout."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.append([c.header for c in COLUMNS])
    projects = projects.select_related("lead_department").order_by("plan_year", "code")
    ids = list(projects.values_list("pk", flat=True))
    steps = {}
    for start in range(0, len(ids), 5000):
        for step in ApprovalStep.objects.filter(project_id__in=ids[start : start + 5000]):
            steps[(step.project_id, step.kind)] = step
    for project in projects.iterator(chunk_size=2000):
        row = []
        for column in COLUMNS:
            if column.key.startswith("approval:"):
                _prefix, kind, which = column.key.split(":")
                step = steps.get((project.pk, kind))
                value = None
                if step is not None:
                    value = step.planned_date if which == "planned" else step.actual_date
            else:
                value = getattr(project, column.key)
            row.append(_export_value(column, value))
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _export_value(column: Column, value):
    if value is None or value == "":
        return None
    if column.kind == "amount":
        return Decimal(format((value / WAN).normalize(), "f"))
    if column.kind == "decimal":
        return Decimal(format(value.normalize(), "f"))
    if column.kind == "type":
        return TYPE_LABELS[value]
    if column.kind == "sector":
        return SECTOR_LABELS[value]
    if column.kind == "department":
        return value.name
    return value

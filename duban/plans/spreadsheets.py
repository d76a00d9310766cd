"""Excel in and out for plans: the plan with its status, and the department's progress
template that is filled offline and uploaded back.

An upload is all or nothing: every row is checked, and if any is wrong nothing is saved
and each error names its row and column."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from duban import clock
from duban.core.figures import figure
from duban.plans import pace
from duban.plans.models import Commitment, ProgressReport
from duban.plans.selectors import PlanStatus

STATUS_FILLS = {"green": "C6EFCE", "yellow": "FFEB9C", "red": "FFC7CE", "grey": "E7E6E6"}
STATUS_LABELS = {"green": "绿", "yellow": "黄", "red": "红", "grey": "灰"}

# The progress template's columns. The first five identify the row and are not changed.
TEMPLATE_COLUMNS = [
    ("commitment_id", "编号"),
    ("indicator", "指标"),
    ("target", "目标"),
    ("measure", "类型"),
    ("period_end", "报告期末(YYYY-MM-DD)"),
    ("value", "累计值/增速/比率"),
    ("done_date", "完成日期(节点)"),
    ("work_done", "完成情况"),
    ("problems", "存在问题"),
    ("next_steps", "下步措施"),
]


def _autosize(sheet, widths):
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


# The plan sheet: a planner may change the lead (牵头单位) and co-department (配合单位)
# columns, by department code, and upload it back (assignments_import).
PLAN_HEADER = [
    "编号",
    "部分",
    "指标",
    "目标",
    "完成时限",
    "牵头单位",
    "配合单位",
    "序时进度%",
    "最新值",
    "报告期",
    "状态",
    "说明",
    "预计全年",
    "报告逾期",
]
LEAD_COLUMN, CO_COLUMN = 5, 6


def plan_export(status: PlanStatus) -> bytes:
    through = Commitment.co_departments.through.objects.filter(
        commitment__plan=status.plan
    ).values_list("commitment_id", "department__code")
    co_codes: dict[int, str] = {}
    for commitment_id, code in through:
        co_codes[commitment_id] = ",".join(filter(None, [co_codes.get(commitment_id), code]))
    book = Workbook()
    sheet = book.active
    sheet.title = f"{status.plan.year}"
    sheet.append([f"{status.plan.title}（截至 {status.as_of.isoformat()}）"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(PLAN_HEADER)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in status.rows:
        c = row.commitment
        a = row.assessment
        sheet.append(
            [
                c.pk,
                c.section,
                c.indicator,
                figure(c.measure, c.comparator, c.value, c.upper, c.unit),
                c.deadline,
                c.lead_department.code if c.lead_department else "",
                co_codes.get(c.pk, ""),
                float(round(a.expected_fraction * 100, 1)),
                float(row.latest_value) if row.latest_value is not None else None,
                row.latest_period,
                STATUS_LABELS[a.status],
                str(a.reason),
                float(round(a.forecast, 2)) if a.forecast is not None else None,
                row.overdue_period,
            ]
        )
        sheet.cell(row=sheet.max_row, column=11).fill = PatternFill(
            "solid", fgColor=STATUS_FILLS[a.status]
        )
    _autosize(sheet, [7, 24, 22, 16, 12, 12, 16, 10, 16, 12, 6, 24, 14, 12])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_export(commitments: list[Commitment], year: int) -> bytes:
    """The offline template: a row per commitment, each for the latest period of its own
    cadence that has ended (a quarterly one's quarter end, not last month's end)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "progress"
    sheet.append([label for _, label in TEMPLATE_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for c in commitments:
        # Before the first period ends there is nothing to report: the cell stays empty.
        period_end = current_period(c.cadence, year)
        sheet.append(
            [
                c.pk,
                c.indicator,
                figure(c.measure, c.comparator, c.value, c.upper, c.unit),
                c.measure,
                period_end.isoformat() if period_end else None,
                None,
                None,
                "",
                "",
                "",
            ]
        )
    _autosize(sheet, [8, 24, 16, 10, 20, 16, 16, 30, 24, 24])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("row %(row)s, column %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


class SpreadsheetErrors(ValidationError):
    def __init__(self, errors: list[RowError]):
        self.row_errors = errors
        super().__init__([str(e) for e in errors])


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _as_decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    text = str(value).strip().replace(",", "")
    number = Decimal(text)
    if not number.is_finite():  # NaN, Infinity: numbers to Decimal, not to a reader
        raise InvalidOperation
    return number


def template_import(*, data: bytes, actor, plan) -> list[ProgressReport]:
    """Read a filled template and submit one report per filled row, all or nothing."""
    from duban.plans.tracking import progress_save

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationError(_("The file is not an Excel workbook (.xlsx).")) from None
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    expected = [label for _, label in TEMPLATE_COLUMNS]
    if not rows or [str(v or "").strip() for v in rows[0][: len(expected)]] != expected:
        raise ValidationError(
            _("The first row must be the template's header: %(h)s") % {"h": " | ".join(expected)}
        )
    letters = {key: get_column_letter(i + 1) for i, (key, _) in enumerate(TEMPLATE_COLUMNS)}
    errors: list[RowError] = []
    parsed = []
    commitments = {c.pk: c for c in Commitment.objects.filter(plan=plan).select_related("plan")}
    seen = set()
    for number, raw in enumerate(rows[1:], start=2):
        cells = dict(
            zip(
                [k for k, _ in TEMPLATE_COLUMNS],
                list(raw) + [None] * len(TEMPLATE_COLUMNS),
                strict=False,
            )
        )
        if all(
            cells[k] in (None, "")
            for k in ("value", "done_date", "work_done", "problems", "next_steps")
        ):
            continue  # a row left empty is not reported this time
        row_errors = []
        try:
            commitment = commitments[int(cells["commitment_id"])]
        except (TypeError, ValueError, KeyError):
            errors.append(
                RowError(
                    number,
                    letters["commitment_id"],
                    _("not a commitment of the %(year)s plan") % {"year": plan.year},
                )
            )
            continue
        if not actor.can_report_for(commitment.lead_department_id):
            errors.append(
                RowError(
                    number,
                    letters["commitment_id"],
                    _("your department does not lead this commitment"),
                )
            )
            continue
        try:
            period_end = _as_date(cells["period_end"])
        except (TypeError, ValueError):
            row_errors.append(RowError(number, letters["period_end"], _("not a date (YYYY-MM-DD)")))
            period_end = None
        value = done_date = None
        if cells["value"] not in (None, ""):
            try:
                value = _as_decimal(cells["value"])
            except InvalidOperation:
                row_errors.append(RowError(number, letters["value"], _("not a number")))
        if cells["done_date"] not in (None, ""):
            try:
                done_date = _as_date(cells["done_date"])
            except (TypeError, ValueError):
                row_errors.append(
                    RowError(number, letters["done_date"], _("not a date (YYYY-MM-DD)"))
                )
        if period_end is not None and (commitment.pk, period_end) in seen:
            row_errors.append(
                RowError(
                    number, letters["period_end"], _("this commitment and period appear twice")
                )
            )
        if not row_errors and period_end is not None:
            seen.add((commitment.pk, period_end))
            fields = {"period_end": period_end, "value": value, "done_date": done_date}
            problem = _row_problem(commitment, fields)
            if problem:
                row_errors.append(RowError(number, letters.get(problem[0], "A"), problem[1]))
        errors.extend(row_errors)
        if not row_errors:
            parsed.append((commitment, period_end, value, done_date, cells))
    if errors:
        raise SpreadsheetErrors(errors)
    if not parsed:
        raise ValidationError(_("No row was filled in."))
    reports = []
    try:
        with transaction.atomic():
            for commitment, period_end, value, done_date, cells in parsed:
                reports.append(
                    progress_save(
                        commitment=commitment,
                        actor=actor,
                        period_end=period_end,
                        value=value,
                        done_date=done_date,
                        work_done=str(cells["work_done"] or "")[:4000],
                        problems=str(cells["problems"] or "")[:4000],
                        next_steps=str(cells["next_steps"] or "")[:4000],
                        channel=ProgressReport.Channel.EXCEL,
                        submit=True,
                    )
                )
    except (ValidationError, PermissionDenied) as exc:
        # Something only the database knew (a report already awaiting review): nothing saved.
        raise ValidationError(
            _("Nothing was saved: %(e)s") % {"e": "; ".join(getattr(exc, "messages", [str(exc)]))}
        ) from None
    return reports


def _row_problem(commitment: Commitment, fields: dict) -> tuple[str, str] | None:
    from duban.plans.tracking import _figures_validate, period_validate

    for check in (
        lambda: period_validate(commitment, fields["period_end"]),
        lambda: _figures_validate(commitment, fields["value"], fields["done_date"]),
    ):
        try:
            check()
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                name, errs = next(iter(exc.error_dict.items()))
                return name, "; ".join(e.messages[0] for e in errs)
            return "period_end", "; ".join(exc.messages)
    return None


def current_period(commitment_cadence: str, year: int) -> dt.date | None:
    """The latest period that has ended, for the template's default."""
    today = clock.today()
    ended = [p for p in pace.periods(year, commitment_cadence) if p <= today]
    return ended[-1] if ended else None


def assignments_import(*, data: bytes, actor, plan) -> int:
    """Read a plan sheet back and set each row's lead and co-departments, all or nothing.
    Returns the number of commitments whose assignment changed."""
    from duban.accounts.models import Department
    from duban.plans.services import commitment_assign

    if not actor.is_planner:
        raise PermissionDenied(_("Only the supervision office can do this."))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise ValidationError(_("The file is not an Excel workbook (.xlsx).")) from None
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    if len(rows) < 2 or [str(v or "").strip() for v in rows[1][: len(PLAN_HEADER)]] != PLAN_HEADER:
        raise ValidationError(
            _("The second row must be the plan sheet's header: %(h)s")
            % {"h": " | ".join(PLAN_HEADER)}
        )
    departments = {d.code: d for d in Department.objects.all()}
    commitments = {
        c.pk: c for c in Commitment.objects.filter(plan=plan).prefetch_related("co_departments")
    }
    lead_letter, co_letter = get_column_letter(LEAD_COLUMN + 1), get_column_letter(CO_COLUMN + 1)
    errors: list[RowError] = []
    changes = []
    for number, raw in enumerate(rows[2:], start=3):
        cells = list(raw) + [None] * len(PLAN_HEADER)
        if all(v in (None, "") for v in cells[: len(PLAN_HEADER)]):
            continue
        try:
            commitment = commitments[int(cells[0])]
        except (TypeError, ValueError, KeyError):
            errors.append(
                RowError(
                    number, "A", _("not a commitment of the %(year)s plan") % {"year": plan.year}
                )
            )
            continue
        lead_code = str(cells[LEAD_COLUMN] or "").strip()
        co_codes = [
            c.strip()
            for c in str(cells[CO_COLUMN] or "").replace("，", ",").split(",")
            if c.strip()
        ]
        if not lead_code:
            errors.append(RowError(number, lead_letter, _("a lead department is needed")))
            continue
        unknown = [c for c in [lead_code, *co_codes] if c not in departments]
        if unknown:
            column = lead_letter if lead_code in unknown else co_letter
            errors.append(
                RowError(
                    number, column, _("unknown department code %(c)s") % {"c": ", ".join(unknown)}
                )
            )
            continue
        if lead_code in co_codes:
            errors.append(
                RowError(
                    number, co_letter, _("the lead department is also listed as a co-department")
                )
            )
            continue
        lead = departments[lead_code]
        co = [departments[c] for c in co_codes]
        current_co = sorted(d.code for d in commitment.co_departments.all())
        if commitment.lead_department_id != lead.pk or current_co != sorted(co_codes):
            changes.append((commitment, lead, co))
    if errors:
        raise SpreadsheetErrors(errors)
    with transaction.atomic():
        for commitment, lead, co in changes:
            commitment_assign(commitment=commitment, actor=actor, lead=lead, co=co)
    return len(changes)

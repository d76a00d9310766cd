"""Writes of the project pipeline. Each function validates, writes and appends to the audit
log in one transaction; permission is checked here too, so that no caller can skip it."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from duban import clock
from duban.audit.services import audit_record, snapshot
from duban.core.uploads import IMAGES, upload_check
from duban.projects.models import (
    STAGE_ORDER,
    ApprovalKind,
    ApprovalStep,
    MonthlyReport,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Project,
    ReportPhoto,
    ReportStatus,
    Stage,
)

MAX_PHOTOS = 9
PROJECT_FIELDS = (
    "plan_year",
    "code",
    "name",
    "sector",
    "project_type",
    "lead_department",
    "owner_company",
    "address",
    "latitude",
    "longitude",
    "total_investment",
    "annual_investment",
    *[f"{stage}_{kind}" for stage in STAGE_ORDER for kind in ("planned", "actual")],
)


# --- who may do what -------------------------------------------------------------------


def can_view_project(user, project: Project) -> bool:
    return bool(
        user and user.is_authenticated and user.can_view_department(project.lead_department_id)
    )


def can_report_project(user, project: Project) -> bool:
    return bool(user and user.is_authenticated and user.can_report_for(project.lead_department_id))


def can_view_problem(user, problem: Problem) -> bool:
    if not (user and user.is_authenticated):
        return False
    return user.sees_everything or user.department_id in (
        problem.assigned_department_id,
        problem.project.lead_department_id,
    )


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _require_planner(actor) -> None:
    _require(getattr(actor, "is_planner", False), _("Only the supervision office can do this."))


# --- the registry ----------------------------------------------------------------------


def project_check(project: Project, *, check_code: bool = True) -> None:
    """Field validation plus the rules that tie fields together; raises ValidationError
    with a message per field. (The ledger import checks codes across the file itself.)"""
    errors: dict[str, list[str]] = {}
    try:
        project.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if (
        project.total_investment is not None
        and project.annual_investment is not None
        and project.annual_investment > project.total_investment
    ):
        errors.setdefault("annual_investment", []).append(
            _("This year's plan cannot exceed the total investment.")
        )
    today = clock.today()
    previous_date = None
    for stage in STAGE_ORDER:
        actual = project.actual(stage)
        if actual is None:
            continue
        field = f"{stage}_actual"
        if actual > today:
            errors.setdefault(field, []).append(_("An actual date cannot be in the future."))
        if stage not in (Stage.PREP, Stage.START) and project.actual(_before(stage)) is None:
            errors.setdefault(field, []).append(
                _("The stage before (%(stage)s) has no actual date.")
                % {"stage": Stage(_before(stage)).label}
            )
        if previous_date is not None and actual < previous_date:
            errors.setdefault(field, []).append(
                _("It is earlier than the stage before (%(date)s).") % {"date": previous_date}
            )
        previous_date = actual
    previous_date = None
    for stage in STAGE_ORDER:
        planned = project.planned(stage)
        if planned is None:
            continue
        if previous_date is not None and planned < previous_date:
            errors.setdefault(f"{stage}_planned", []).append(
                _("It is earlier than the stage before (%(date)s).") % {"date": previous_date}
            )
        previous_date = planned
    if (project.latitude is None) != (project.longitude is None):
        errors.setdefault("latitude", []).append(_("Give both latitude and longitude, or neither."))
    if check_code and project.plan_year is not None and project.code:
        clash = Project.objects.filter(plan_year=project.plan_year, code=project.code)
        if project.pk:
            clash = clash.exclude(pk=project.pk)
        if clash.exists():
            errors.setdefault("code", []).append(
                _("The code %(code)s is already used in %(year)s.")
                % {"code": project.code, "year": project.plan_year}
            )
    if errors:
        raise ValidationError(errors)


def _before(stage: str) -> str:
    return STAGE_ORDER[STAGE_ORDER.index(stage) - 1]


def project_create(*, actor, **fields) -> Project:
    _require_planner(actor)
    unknown = set(fields) - set(PROJECT_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    now = clock.wall_now()
    project = Project(created_at=now, updated_at=now, **fields)
    project_check(project)
    try:
        with transaction.atomic():
            project.save()
            audit_record(
                actor=actor, action="project.create", instance=project, after=snapshot(project)
            )
    except IntegrityError:  # the same code registered at the same moment by someone else
        message = _("The code %(code)s is already used in %(year)s.")
        raise ValidationError(
            {"code": message % {"code": project.code, "year": project.plan_year}}
        ) from None
    return project


def project_update(*, project: Project, actor, changes: dict) -> Project:
    _require_planner(actor)
    unknown = set(changes) - set(PROJECT_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        before = snapshot(project)
        if (
            "plan_year" in changes
            and changes["plan_year"] != project.plan_year
            and project.reports.exists()
        ):
            raise ValidationError(
                {"plan_year": _("A project with monthly reports cannot move to another year.")}
            )
        for name, value in changes.items():
            setattr(project, name, value)
        project_check(project)
        after = snapshot(project, exclude=("updated_at",))
        if after == {k: v for k, v in before.items() if k != "updated_at"}:
            return project
        project.updated_at = clock.wall_now()
        project.save()
        audit_record(
            actor=actor, action="project.update", instance=project, before=before, after=after
        )
    return project


def approval_set(
    *, project: Project, actor, kind: str, planned_date: dt.date | None, actual_date: dt.date | None
) -> ApprovalStep:
    """Record the planned and actual dates of one approval step (立项, 用地, …)."""
    _require_planner(actor)
    if kind not in ApprovalKind.values:
        raise ValidationError(_("Unknown approval step %(k)s.") % {"k": kind})
    if actual_date is not None and actual_date > clock.today():
        raise ValidationError({"actual_date": _("An actual date cannot be in the future.")})
    with transaction.atomic():
        step, created = ApprovalStep.objects.select_for_update().get_or_create(
            project=project, kind=kind
        )
        before = None if created else snapshot(step)
        step.planned_date, step.actual_date = planned_date, actual_date
        step.save()
        audit_record(
            actor=actor, action="approval.set", instance=step, before=before, after=snapshot(step)
        )
    return step


# --- monthly reports -------------------------------------------------------------------


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


REPORT_FIELDS = (
    "month_investment",
    "cumulative_investment",
    "stage",
    "stage_date",
    "work_done",
    "problems",
)


def _report_check(report: MonthlyReport, project: Project) -> None:
    """The rules of a report against the project and its other approved reports."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    period = report.period_end
    if period is None or period != month_end(period):
        add("period_end", _("The month must be given by its last day."))
    elif period.year != project.plan_year:
        add(
            "period_end",
            _("The month must fall in the project's plan year %(y)s.") % {"y": project.plan_year},
        )
    elif period.replace(day=1) > clock.today():
        add("period_end", _("This month has not begun yet."))
    month, cumulative = report.month_investment, report.cumulative_investment
    if month is None:
        add("month_investment", _("Give the investment completed this month."))
    elif month < 0:
        add("month_investment", _("An amount cannot be negative."))
    if cumulative is None:
        add("cumulative_investment", _("Give the cumulative investment."))
    elif cumulative < 0:
        add("cumulative_investment", _("An amount cannot be negative."))
    elif month is not None and month > cumulative:
        add(
            "cumulative_investment",
            _("The cumulative figure is smaller than this month's investment."),
        )
    if cumulative is not None and period is not None and "period_end" not in errors:
        approved = MonthlyReport.objects.filter(
            project=project, status=ReportStatus.APPROVED
        ).exclude(pk=report.pk)
        earlier = approved.filter(period_end__lt=period).order_by("-period_end").first()
        later = approved.filter(period_end__gt=period).order_by("period_end").first()
        if earlier is not None and cumulative < earlier.cumulative_investment:
            add(
                "cumulative_investment",
                _("The cumulative investment cannot fall: %(month)s reported %(value)s.")
                % {
                    "month": earlier.period_end.strftime("%Y-%m"),
                    "value": earlier.cumulative_investment,
                },
            )
        if later is not None and cumulative > later.cumulative_investment:
            add(
                "cumulative_investment",
                _("The cumulative investment cannot fall: %(month)s reported %(value)s.")
                % {
                    "month": later.period_end.strftime("%Y-%m"),
                    "value": later.cumulative_investment,
                },
            )
    if report.stage:
        if report.stage not in Stage.values or report.stage == Stage.PREP:
            add("stage", _("Choose a stage after the preliminary procedures."))
        elif report.stage_date is None:
            add("stage_date", _("Give the day the stage was reached."))
        elif period is not None and not (period.replace(day=1) <= report.stage_date <= period):
            add("stage_date", _("The day must fall in the month reported on."))
        elif project.actual(report.stage) is not None:
            add(
                "stage",
                _("The project already reached this stage on %(date)s.")
                % {"date": project.actual(report.stage)},
            )
        else:
            previous = _before(report.stage)
            if previous != Stage.PREP and project.actual(previous) is None:
                add(
                    "stage",
                    _("The stage before (%(stage)s) has not been reached yet.")
                    % {"stage": Stage(previous).label},
                )
            elif previous != Stage.PREP and report.stage_date < project.actual(previous):
                add("stage_date", _("It is earlier than the stage before."))
    elif report.stage_date is not None:
        add("stage", _("Choose the stage reached on that day."))
    if errors:
        raise ValidationError(errors)


def report_create(
    *, project: Project, actor, period_end: dt.date, photos=(), **fields
) -> MonthlyReport:
    """A draft report for a month. A month with a returned report gets a new version; a
    month with a draft, a submitted or an approved report refuses another."""
    _require(can_report_project(actor, project), _("Only the project's department reports on it."))
    unknown = set(fields) - set(REPORT_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    fields.setdefault("stage", "")
    fields["stage"] = fields["stage"] or ""
    checked = [_photo_check(p) for p in photos]
    if len(checked) > MAX_PHOTOS:
        raise ValidationError(_("At most %(n)s photos per report.") % {"n": MAX_PHOTOS})
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        existing = list(
            MonthlyReport.objects.filter(project=project, period_end=period_end).order_by(
                "-version"
            )
        )
        if existing and existing[0].status != ReportStatus.RETURNED:
            raise ValidationError(
                _("There is already a %(status)s report for this month.")
                % {"status": existing[0].get_status_display()}
            )
        report = MonthlyReport(
            project=project,
            period_end=period_end,
            version=existing[0].version + 1 if existing else 1,
            created_by=actor,
            created_at=clock.wall_now(),
            **fields,
        )
        _report_check(report, project)
        report.save()
        _photos_save(report, checked)
        audit_record(
            actor=actor, action="project_report.create", instance=report, after=snapshot(report)
        )
    return report


def report_update(*, report: MonthlyReport, actor, changes: dict, photos=()) -> MonthlyReport:
    _require(
        can_report_project(actor, report.project), _("Only the project's department reports on it.")
    )
    unknown = set(changes) - set(REPORT_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    checked = [_photo_check(p) for p in photos]
    with transaction.atomic():
        report = MonthlyReport.objects.select_for_update().get(pk=report.pk)
        if report.status != ReportStatus.DRAFT:
            raise ValidationError(_("Only a draft can be changed."))
        if report.photos.count() + len(checked) > MAX_PHOTOS:
            raise ValidationError(_("At most %(n)s photos per report.") % {"n": MAX_PHOTOS})
        before = snapshot(report)
        for name, value in changes.items():
            setattr(report, name, "" if name == "stage" and not value else value)
        _report_check(report, report.project)
        report.save()
        _photos_save(report, checked)
        audit_record(
            actor=actor,
            action="project_report.update",
            instance=report,
            before=before,
            after=snapshot(report),
        )
    return report


def _photo_check(upload):
    return upload, upload_check(upload, allowed=IMAGES)


def _photos_save(report: MonthlyReport, checked) -> None:
    for upload, info in checked:
        photo = ReportPhoto(
            report=report,
            original_name=info.name,
            content_type=info.content_type,
            size=info.size,
            uploaded_at=clock.wall_now(),
        )
        photo.file.save(info.name, upload, save=False)
        photo.save()


def _transition(report: MonthlyReport, *, actor, refused: str, allowed_from, to, **extra):
    """Lock the report and move it to a new status; the caller saves and audits."""
    report = MonthlyReport.objects.select_for_update().select_related("project").get(pk=report.pk)
    if report.status not in allowed_from:
        raise ValidationError(refused % {"status": report.get_status_display()})
    before = snapshot(report)
    report.status = to
    for name, value in extra.items():
        setattr(report, name, value)
    return report, before


def report_submit(*, report: MonthlyReport, actor) -> MonthlyReport:
    _require(
        can_report_project(actor, report.project), _("Only the project's department reports on it.")
    )
    with transaction.atomic():
        report, before = _transition(
            report,
            actor=actor,
            refused=_("Only a draft can be submitted; this report is %(status)s."),
            allowed_from=(ReportStatus.DRAFT,),
            to=ReportStatus.SUBMITTED,
            submitted_at=clock.wall_now(),
        )
        _report_check(report, report.project)
        report.save()
        audit_record(
            actor=actor,
            action="project_report.submit",
            instance=report,
            before=before,
            after=snapshot(report),
        )
    return report


def report_review(
    *, report: MonthlyReport, actor, approve: bool, comment: str = ""
) -> MonthlyReport:
    """Approve (the figures count from now on, and a stage change moves the project) or
    return with a reason (the department revises it as a new version)."""
    _require_planner(actor)
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"review_comment": _("Say why the report is returned.")})
    with transaction.atomic():
        report, before = _transition(
            report,
            actor=actor,
            refused=_("Only a submitted report can be reviewed; this report is %(status)s."),
            allowed_from=(ReportStatus.SUBMITTED,),
            to=ReportStatus.APPROVED if approve else ReportStatus.RETURNED,
            reviewed_by=actor,
            reviewed_at=clock.wall_now(),
            review_comment=comment,
        )
        if approve:
            project = Project.objects.select_for_update().get(pk=report.project_id)
            _report_check(report, project)
            if report.stage:
                project_before = snapshot(project)
                setattr(project, f"{report.stage}_actual", report.stage_date)
                project_check(project)
                project.updated_at = clock.wall_now()
                project.save()
                audit_record(
                    actor=actor,
                    action="project.stage",
                    instance=project,
                    before=project_before,
                    after=snapshot(project),
                )
        report.save()
        audit_record(
            actor=actor,
            action="project_report.approve" if approve else "project_report.return",
            instance=report,
            before=before,
            after=snapshot(report),
        )
    return report


# --- problems (需协调解决的问题) ---------------------------------------------------------


def problem_raise(
    *,
    project: Project,
    actor,
    category: str,
    description: str,
    assigned_department,
    deadline: dt.date,
) -> Problem:
    _require(
        getattr(actor, "is_planner", False) or can_report_project(actor, project),
        _("Only the project's department or the supervision office can raise a problem."),
    )
    description = (description or "").strip()
    errors = {}
    if category not in ProblemCategory.values:
        errors["category"] = _("Choose a category.")
    if not description:
        errors["description"] = _("Describe the problem.")
    if assigned_department is None:
        errors["assigned_department"] = _("Choose the department that must solve it.")
    if deadline is None:
        errors["deadline"] = _("Give a deadline.")
    elif deadline < clock.today():
        errors["deadline"] = _("The deadline is in the past.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        problem = Problem.objects.create(
            project=project,
            category=category,
            description=description,
            assigned_department=assigned_department,
            deadline=deadline,
            raised_by=actor,
            raised_on=clock.today(),
        )
        audit_record(actor=actor, action="problem.raise", instance=problem, after=snapshot(problem))
    return problem


def _problem_locked(problem: Problem, allowed_from) -> tuple[Problem, dict]:
    problem = Problem.objects.select_for_update().select_related("project").get(pk=problem.pk)
    if problem.status not in allowed_from:
        raise ValidationError(
            _("This problem is %(status)s.") % {"status": problem.get_status_display()}
        )
    return problem, snapshot(problem)


def problem_resolve(*, problem: Problem, actor, resolution: str) -> Problem:
    """The assigned department says how the problem was solved."""
    _require(
        actor.can_report_for(problem.assigned_department_id),
        _("Only the assigned department can answer this problem."),
    )
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Say how the problem was solved.")})
    with transaction.atomic():
        problem, before = _problem_locked(problem, (ProblemStatus.OPEN,))
        problem.status = ProblemStatus.RESOLVED
        problem.resolution = resolution
        problem.resolved_on = clock.today()
        problem.resolved_by = actor
        problem.save()
        audit_record(
            actor=actor,
            action="problem.resolve",
            instance=problem,
            before=before,
            after=snapshot(problem),
        )
    return problem


def problem_close(*, problem: Problem, actor) -> Problem:
    """The supervision office confirms the answer: the problem is closed."""
    _require_planner(actor)
    with transaction.atomic():
        problem, before = _problem_locked(problem, (ProblemStatus.RESOLVED,))
        problem.status = ProblemStatus.CLOSED
        problem.closed_on = clock.today()
        problem.closed_by = actor
        problem.save()
        audit_record(
            actor=actor,
            action="problem.close",
            instance=problem,
            before=before,
            after=snapshot(problem),
        )
    return problem


def problem_reopen(
    *, problem: Problem, actor, reason: str, deadline: dt.date | None = None
) -> Problem:
    """The answer does not hold: back to the department, with a reason (and a new deadline)."""
    _require_planner(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the problem is reopened.")})
    if deadline is not None and deadline < clock.today():
        raise ValidationError({"deadline": _("The deadline is in the past.")})
    with transaction.atomic():
        problem, before = _problem_locked(problem, (ProblemStatus.RESOLVED,))
        problem.status = ProblemStatus.OPEN
        problem.resolution = f"{problem.resolution}\n[{clock.today():%Y-%m-%d}] {reason}".strip()
        problem.resolved_on = None
        problem.resolved_by = None
        if deadline is not None:
            problem.deadline = deadline
        problem.save()
        audit_record(
            actor=actor,
            action="problem.reopen",
            instance=problem,
            before=before,
            after=snapshot(problem),
        )
    return problem


def decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))

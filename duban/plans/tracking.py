"""Writes of progress tracking: progress reports and their review, supervision notices,
reminders. (Import and review of the report text are in services.py.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from duban import clock
from duban.accounts.models import User
from duban.audit.services import audit_record, snapshot
from duban.core.uploads import EVIDENCE, upload_check
from duban.plans import pace
from duban.plans.models import (
    Commitment,
    DataSource,
    Evidence,
    Notification,
    ProgressReport,
    SupervisionNotice,
)

Status = ProgressReport.Status
OPEN_NOTICE = (
    SupervisionNotice.Status.DRAFT,
    SupervisionNotice.Status.ISSUED,
    SupervisionNotice.Status.REPLIED,
)


def period_validate(commitment: Commitment, period_end: dt.date) -> None:
    valid = pace.periods(commitment.plan.year, commitment.cadence)
    if period_end not in valid:
        raise ValidationError(
            {
                "period_end": _(
                    "%(d)s is not the end of a %(cadence)s reporting period of %(year)s."
                )
                % {
                    "d": period_end,
                    "cadence": commitment.get_cadence_display(),
                    "year": commitment.plan.year,
                }
            }
        )
    if period_end > clock.today():
        raise ValidationError({"period_end": _("That period has not ended yet.")})


# A report's figure column holds 24 digits, 4 of them after the point.
FIGURE_LIMIT = Decimal("1e20")


def figure_storable(value: Decimal | int) -> bool:
    """A finite figure the figure column can hold (NaN and infinities parse as Decimals;
    stored or compared, they fail)."""
    number = Decimal(value)
    return number.is_finite() and abs(number) < FIGURE_LIMIT


def _figures_validate(
    commitment: Commitment, value: Decimal | None, done_date: dt.date | None
) -> None:
    if commitment.measure == "milestone":
        if value is not None:
            raise ValidationError(
                {"value": _("A milestone is reported by its done date, not a figure.")}
            )
        if done_date is not None and done_date > clock.today():
            raise ValidationError({"done_date": _("The done date cannot be in the future.")})
        return
    if done_date is not None:
        raise ValidationError({"done_date": _("Only milestones have a done date.")})
    if value is None:
        raise ValidationError({"value": _("Enter the figure for this period.")})
    if not figure_storable(value):
        raise ValidationError({"value": _("The figure is too large, or not a number.")})
    if commitment.measure == "level" and value < 0:
        raise ValidationError({"value": _("A cumulative amount cannot be negative.")})
    if (
        commitment.measure == "share"
        and not (Decimal(0) <= value <= Decimal(100))
        and commitment.unit == "%"
    ):
        raise ValidationError({"value": _("A rate in % must be between 0 and 100.")})


def _check_reporter(actor, commitment: Commitment, *, via_api_department=None) -> None:
    if via_api_department is not None:
        if via_api_department.pk != commitment.lead_department_id:
            raise PermissionDenied(
                _("This system does not report for the commitment's lead department.")
            )
        return
    if not actor.can_report_for(commitment.lead_department_id):
        raise PermissionDenied(
            _("Only the lead department's reporters can file progress on this commitment.")
        )


def _check_manual(commitment: Commitment) -> None:
    # A figure Duban computes from its own data (a pipeline metric) is never filed by
    # hand: the status would ignore the report, and the reporter would believe it counted.
    if commitment.data_source == DataSource.COMPUTED:
        raise ValidationError(
            _(
                "This commitment's figure is computed by Duban from its own data "
                "(%(metric)s); there is nothing to report by hand."
            )
            % {"metric": commitment.metric}
        )


def progress_save(
    *,
    commitment: Commitment,
    actor,
    period_end: dt.date,
    value: Decimal | None = None,
    done_date: dt.date | None = None,
    work_done: str = "",
    problems: str = "",
    next_steps: str = "",
    channel: str = ProgressReport.Channel.WEB,
    submit: bool = False,
    via_api_department=None,
) -> ProgressReport:
    """Create or update the department's working version for a period.

    A draft is edited in place; a returned or approved report is revised as a new version
    (the old one is kept); a report awaiting review cannot change until it is reviewed."""
    _check_reporter(actor, commitment, via_api_department=via_api_department)
    _check_manual(commitment)
    period_validate(commitment, period_end)
    _figures_validate(commitment, value, done_date)
    now = clock.now()
    with transaction.atomic():
        latest = (
            ProgressReport.objects.select_for_update()
            .filter(commitment=commitment, period_end=period_end)
            .order_by("-version")
            .first()
        )
        if latest is not None and latest.status == Status.SUBMITTED:
            raise ValidationError(
                _(
                    "The report for this period is awaiting review; it can change once it is reviewed."
                )
            )
        fields = {
            "value": value,
            "done_date": done_date,
            "work_done": work_done.strip(),
            "problems": problems.strip(),
            "next_steps": next_steps.strip(),
            "channel": channel,
        }
        if latest is not None and latest.status == Status.DRAFT:
            report = latest
            before = snapshot(report)
            for name, field_value in fields.items():
                setattr(report, name, field_value)
            action = "progress.update"
        else:
            before = None
            report = ProgressReport(
                commitment=commitment,
                department_id=commitment.lead_department_id,
                period_end=period_end,
                version=(latest.version + 1) if latest else 1,
                created_by=actor if isinstance(actor, User) else None,
                created_at=now,
                **fields,
            )
            action = "progress.create"
        if submit:
            report.status = Status.SUBMITTED
            report.submitted_at = now
        report.save()
        audit_record(
            actor=actor,
            action=action + (".submit" if submit else ""),
            instance=report,
            before=before,
            after=snapshot(report),
        )
    return report


def progress_submit(*, report: ProgressReport, actor) -> ProgressReport:
    _check_reporter(actor, report.commitment)
    _check_manual(report.commitment)
    if report.status != Status.DRAFT:
        raise ValidationError(_("Only a draft can be submitted."))
    _figures_validate(report.commitment, report.value, report.done_date)
    before = snapshot(report)
    with transaction.atomic():
        report.status = Status.SUBMITTED
        report.submitted_at = clock.now()
        report.save(update_fields=["status", "submitted_at"])
        audit_record(
            actor=actor,
            action="progress.submit",
            instance=report,
            before=before,
            after=snapshot(report),
        )
    return report


def _review(report: ProgressReport, actor, status: str, comment: str) -> ProgressReport:
    if not actor.is_planner:
        raise PermissionDenied(_("Only the supervision office reviews progress reports."))
    if report.created_by_id is not None and report.created_by_id == actor.pk:
        raise PermissionDenied(_("A report is reviewed by someone other than its author."))
    with transaction.atomic():
        locked = ProgressReport.objects.select_for_update().get(pk=report.pk)
        if locked.status != Status.SUBMITTED:
            raise ValidationError(_("Only a submitted report can be reviewed."))
        before = snapshot(locked)
        locked.status = status
        locked.reviewed_by = actor
        locked.reviewed_at = clock.now()
        locked.review_comment = comment.strip()
        locked.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment"])
        audit_record(
            actor=actor,
            action=f"progress.{status}",
            instance=locked,
            before=before,
            after=snapshot(locked),
        )
    return locked


def progress_approve(*, report: ProgressReport, actor, comment: str = "") -> ProgressReport:
    return _review(report, actor, Status.APPROVED, comment)


def progress_return(*, report: ProgressReport, actor, comment: str) -> ProgressReport:
    if not comment.strip():
        raise ValidationError({"comment": _("Say why the report is returned.")})
    report = _review(report, actor, Status.RETURNED, comment)
    _notify_department(
        report.department_id,
        kind="report_returned",
        key=f"report:{report.pk}",
        text=_("Your report on %(indicator)s was returned: %(comment)s")
        % {"indicator": report.commitment.indicator, "comment": comment.strip()[:150]},
        url=reverse("plans:commitment", args=[report.commitment_id]),
    )
    return report


def evidence_add(*, report: ProgressReport, actor, upload) -> Evidence:
    _check_reporter(actor, report.commitment)
    if report.status not in (Status.DRAFT,):
        raise ValidationError(_("Evidence is attached to a draft, before it is submitted."))
    checked = upload_check(upload, allowed=EVIDENCE)
    with transaction.atomic():
        evidence = Evidence(
            report=report,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            uploaded_at=clock.wall_now(),
        )
        # Stored under a generated name: the uploader's file name never becomes a path.
        evidence.file.save(f"r{report.pk}.{checked.kind}", upload, save=False)
        evidence.save()
        audit_record(
            actor=actor, action="evidence.add", instance=evidence, after=snapshot(evidence)
        )
    return evidence


# --- supervision notices (督办单) ---------------------------------------------------------


def _notice_number(notice: SupervisionNotice) -> str:
    return f"督办〔{notice.created_at.year}〕{notice.pk}号"


def notice_draft(
    *, commitment: Commitment, trigger: str, reason: str, actor=None
) -> SupervisionNotice | None:
    """Draft a notice unless one is already open for the commitment."""
    if commitment.lead_department_id is None:
        return None
    with transaction.atomic():
        if SupervisionNotice.objects.filter(commitment=commitment, status__in=OPEN_NOTICE).exists():
            return None
        notice = SupervisionNotice.objects.create(
            commitment=commitment,
            department_id=commitment.lead_department_id,
            trigger=trigger,
            reason=reason,
            created_at=clock.now(),
        )
        notice.number = _notice_number(notice)
        notice.save(update_fields=["number"])
        audit_record(actor=actor, action="notice.draft", instance=notice, after=snapshot(notice))
    return notice


def notice_issue(
    *,
    notice: SupervisionNotice,
    actor,
    reply_deadline: dt.date,
    reason: str | None = None,
    email: bool = True,
) -> SupervisionNotice:
    if not actor.is_planner:
        raise PermissionDenied(_("Only the supervision office issues notices."))
    if notice.status != SupervisionNotice.Status.DRAFT:
        raise ValidationError(_("Only a draft notice can be issued."))
    if reply_deadline <= clock.today():
        raise ValidationError({"reply_deadline": _("The reply deadline must be after today.")})
    before = snapshot(notice)
    with transaction.atomic():
        if reason:
            notice.reason = reason.strip()
        notice.status = SupervisionNotice.Status.ISSUED
        notice.reply_deadline = reply_deadline
        notice.issued_by = actor
        notice.issued_at = clock.now()
        notice.save()
        audit_record(
            actor=actor,
            action="notice.issue",
            instance=notice,
            before=before,
            after=snapshot(notice),
        )
    _notify_department(
        notice.department_id,
        kind="notice_issued",
        key=f"notice:{notice.pk}",
        text=_("Supervision notice %(number)s on %(indicator)s: reply by %(deadline)s")
        % {
            "number": notice.number,
            "indicator": notice.commitment.indicator,
            "deadline": reply_deadline,
        },
        url=reverse("plans:notice", args=[notice.pk]),
        email=email,
    )
    return notice


def notice_reply(
    *, notice: SupervisionNotice, actor, reply: str, measures: str
) -> SupervisionNotice:
    if not (actor.role == "reporter" and actor.department_id == notice.department_id):
        raise PermissionDenied(_("Only the department the notice is addressed to can reply."))
    if notice.status != SupervisionNotice.Status.ISSUED:
        raise ValidationError(_("Only an issued notice can be answered."))
    if not reply.strip() or not measures.strip():
        raise ValidationError(_("Give the reasons and the measures taken."))
    before = snapshot(notice)
    with transaction.atomic():
        notice.status = SupervisionNotice.Status.REPLIED
        notice.reply = reply.strip()
        notice.measures = measures.strip()
        notice.replied_by = actor
        notice.replied_at = clock.now()
        notice.save()
        audit_record(
            actor=actor,
            action="notice.reply",
            instance=notice,
            before=before,
            after=snapshot(notice),
        )
    return notice


def notice_close(*, notice: SupervisionNotice, actor) -> SupervisionNotice:
    if not actor.is_planner:
        raise PermissionDenied(_("Only the supervision office closes notices."))
    if notice.status not in (SupervisionNotice.Status.REPLIED, SupervisionNotice.Status.DRAFT):
        raise ValidationError(
            _("A notice is closed after the department has replied (or dropped as a draft).")
        )
    before = snapshot(notice)
    with transaction.atomic():
        notice.status = SupervisionNotice.Status.CLOSED
        notice.closed_at = clock.now()
        notice.save()
        audit_record(
            actor=actor,
            action="notice.close",
            instance=notice,
            before=before,
            after=snapshot(notice),
        )
    return notice


def supervision_sweep(*, plan, actor=None) -> list[SupervisionNotice]:
    """Draft a notice for every commitment that is red or whose report is overdue, as of
    the clock's today. Run daily (`duban plan supervise`); drafting is idempotent."""
    from duban.plans.selectors import plan_status

    drafted = []
    due: list[tuple[int, str, str]] = []
    for row in plan_status(plan).rows:
        if row.assessment.status == pace.RED:
            trigger, reason = (
                SupervisionNotice.Trigger.RED,
                _("Status red: %(reason)s.") % {"reason": row.reason_text},
            )
        elif row.overdue_period is not None:
            trigger = SupervisionNotice.Trigger.OVERDUE
            reason = _("The report for the period ending %(period)s is overdue.") % {
                "period": row.overdue_period
            }
        else:
            continue
        due.append((row.commitment.pk, trigger, reason))
    commitments = Commitment.objects.in_bulk([pk for pk, _, _ in due])
    for pk, trigger, reason in due:
        notice = notice_draft(
            commitment=commitments[pk], trigger=trigger, reason=reason, actor=actor
        )
        if notice is not None:
            drafted.append(notice)
    return drafted


# --- inbox and e-mail -------------------------------------------------------------------


def _notify_department(
    department_id, *, kind: str, key: str, text: str, url: str, email: bool = True
) -> int:
    users = User.objects.filter(department_id=department_id, role="reporter", is_active=True)
    return sum(
        notify(user=user, kind=kind, key=key, text=text, url=url, email=email) for user in users
    )


def notify(*, user, kind: str, key: str, text: str, url: str = "", email: bool = True) -> int:
    """Put a line in the user's inbox and e-mail it, once per (user, kind, key)."""
    try:
        with transaction.atomic():
            Notification.objects.create(
                user=user, kind=kind, key=key, text=text[:300], url=url, created_at=clock.now()
            )
    except IntegrityError:
        return 0
    if email and user.email:
        send_mail(
            subject=f"[督办] {text[:60]}",
            message=f"{text}\n\n{url}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
            fail_silently=True,
        )
    return 1


def reminders_send(*, plan, days_ahead: int = 5, email: bool = True) -> int:
    """Remind departments of reports coming due or overdue and of notices to answer."""
    from duban.plans.selectors import plan_status

    today = clock.today()
    sent = 0
    thresholds = plan.thresholds()
    for row in plan_status(plan).rows:
        commitment = row.commitment
        if commitment.lead_department_id is None or commitment.data_source != "manual":
            continue
        url = reverse("plans:commitment", args=[commitment.pk])
        if row.overdue_period is not None:
            sent += _notify_department(
                commitment.lead_department_id,
                kind="report_overdue",
                key=f"c{commitment.pk}:{row.overdue_period}",
                text=_("Overdue: the report on %(indicator)s for the period ending %(period)s.")
                % {"indicator": commitment.indicator, "period": row.overdue_period},
                url=url,
                email=email,
            )
        for period in pace.periods(plan.year, commitment.cadence):
            due = pace.report_due(period, thresholds)
            if (
                period <= today <= due
                and today + dt.timedelta(days=days_ahead) >= due
                and not row.filed(period)
            ):
                sent += _notify_department(
                    commitment.lead_department_id,
                    kind="report_due",
                    key=f"c{commitment.pk}:{period}",
                    text=_(
                        "Due by %(due)s: the report on %(indicator)s for the period ending %(period)s."
                    )
                    % {"due": due, "indicator": commitment.indicator, "period": period},
                    url=url,
                    email=email,
                )
    for notice in SupervisionNotice.objects.filter(
        commitment__plan=plan, status=SupervisionNotice.Status.ISSUED
    ).select_related("commitment"):
        if notice.reply_deadline and notice.reply_deadline <= today + dt.timedelta(days=days_ahead):
            sent += _notify_department(
                notice.department_id,
                kind="notice_due",
                key=f"notice:{notice.pk}:{notice.reply_deadline}",
                text=_("Reply to supervision notice %(number)s by %(deadline)s.")
                % {"number": notice.number, "deadline": notice.reply_deadline},
                url=reverse("plans:notice", args=[notice.pk]),
                email=email,
            )
    return sent

"""Writes of the plans module: importing a work report, reviewing its proposals, and
turning the approved ones into tracked commitments."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from duban import clock
from duban.audit.services import audit_record, snapshot
from duban.extract import ExtractError, extract
from duban.plans.models import Commitment, Measure, Plan, Proposal, ReportImport, Stance

MAX_REPORT_CHARS = 2_000_000


@dataclass
class ImportResult:
    report_import: ReportImport
    created: bool


def plan_get_or_create(*, year: int, actor) -> Plan:
    plan = Plan.objects.filter(year=year).first()
    if plan is not None:
        return plan
    with transaction.atomic():
        plan = Plan.objects.create(year=year, title=_("%(year)s work plan") % {"year": year})
        audit_record(actor=actor, action="plan.create", instance=plan, after=snapshot(plan))
    return plan


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


def report_import_create(*, text: str, year: int | None, title: str, actor) -> ImportResult:
    """Extract commitments from a report and store them as proposals for review.

    The same text imported again into the same plan returns the earlier import: nothing
    is duplicated."""
    if not text or not text.strip():
        raise ValidationError(_("The report is empty."))
    if len(text) > MAX_REPORT_CHARS:
        raise ValidationError(
            _("The report is too long (%(n)s characters; at most %(max)s).")
            % {"n": len(text), "max": MAX_REPORT_CHARS}
        )
    if year is not None and not (2000 <= year <= 2100):
        raise ValidationError(_("The year must be between 2000 and 2100."))
    try:
        extraction = extract(text, year=year)
    except ExtractError as exc:
        raise ValidationError(str(exc)) from exc
    if not extraction.commitments:
        raise ValidationError(_("No commitment was found in this text."))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    plan = plan_get_or_create(year=extraction.year, actor=actor)
    existing = ReportImport.objects.filter(plan=plan, sha256=digest).first()
    if existing is not None:
        return ImportResult(existing, created=False)
    with transaction.atomic():
        report_import = ReportImport.objects.create(
            plan=plan,
            title=(title or "").strip()[:200] or _("Work report %(year)s") % {"year": plan.year},
            text=text,
            sha256=digest,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=clock.wall_now(),
        )
        Proposal.objects.bulk_create(
            [
                Proposal(
                    report_import=report_import,
                    position=index,
                    stance=c.stance,
                    year=c.year,
                    section=c.section or "",
                    indicator=(c.indicator or c.text)[:200],
                    text=c.text,
                    start=c.start,
                    end=c.end,
                    measure=c.measure,
                    comparator=c.comparator,
                    value=_decimal(c.value),
                    upper=_decimal(c.upper),
                    unit=c.unit,
                    deadline=c.deadline,
                )
                for index, c in enumerate(extraction.commitments)
            ]
        )
        audit_record(
            actor=actor,
            action="report_import.create",
            instance=report_import,
            after={
                "plan": plan.year,
                "title": report_import.title,
                "sha256": digest,
                "proposals": len(extraction.commitments),
            },
        )
    return ImportResult(report_import, created=True)


EDITABLE_FIELDS = (
    "stance",
    "year",
    "indicator",
    "measure",
    "comparator",
    "value",
    "upper",
    "unit",
    "deadline",
)


def _check_reviewing(report_import: ReportImport) -> None:
    # Read the status from the database: the caller's instance may be stale.
    still_reviewing = ReportImport.objects.filter(
        pk=report_import.pk, status=ReportImport.Status.REVIEWING
    ).exists()
    if not still_reviewing:
        raise ValidationError(
            _("This report has been approved; its proposals can no longer change.")
        )


def proposal_validate(proposal: Proposal) -> None:
    errors = {}
    if proposal.measure == Measure.MILESTONE:
        if proposal.deadline is None and proposal.stance == Stance.TARGET:
            errors["deadline"] = _("A milestone needs a deadline.")
    else:
        if proposal.value is None:
            errors["value"] = _("A figure needs a value.")
        if not proposal.unit:
            errors["unit"] = _("A figure needs a unit.")
        if not proposal.comparator:
            errors["comparator"] = _("A figure needs a comparator.")
    if proposal.comparator == "between":
        if proposal.upper is None:
            errors["upper"] = _("A range needs an upper bound.")
        elif proposal.value is not None and proposal.upper < proposal.value:
            errors["upper"] = _("The upper bound is below the lower bound.")
    elif proposal.upper is not None:
        errors["upper"] = _("Only a range (between) has an upper bound.")
    if not proposal.indicator.strip():
        errors["indicator"] = _("Name what is measured.")
    if errors:
        raise ValidationError(errors)


def proposal_update(*, proposal: Proposal, actor, changes: dict) -> Proposal:
    _check_reviewing(proposal.report_import)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Fields that cannot be edited: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    before = snapshot(proposal)
    for name, value in changes.items():
        if name in ("value", "upper") and value is not None and not isinstance(value, Decimal):
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                raise ValidationError({name: _("Not a number.")}) from None
        setattr(proposal, name, value)
    proposal_validate(proposal)
    proposal.edited = True
    if proposal.decision == Proposal.Decision.PENDING:
        proposal.decision = Proposal.Decision.ACCEPTED
    with transaction.atomic():
        proposal.save()
        audit_record(
            actor=actor,
            action="proposal.update",
            instance=proposal,
            before=before,
            after=snapshot(proposal),
        )
    return proposal


def proposal_decide(
    *, proposal: Proposal, actor, decision: str, merge_into: Proposal | None = None
) -> Proposal:
    """Accept, reject or merge one proposal (merging folds a repeated figure into another
    proposal of the same report, so it is tracked once)."""
    _check_reviewing(proposal.report_import)
    if decision not in (
        Proposal.Decision.ACCEPTED,
        Proposal.Decision.REJECTED,
        Proposal.Decision.MERGED,
        Proposal.Decision.PENDING,
    ):
        raise ValidationError(_("Unknown decision %(d)s.") % {"d": decision})
    before = snapshot(proposal)
    if decision == Proposal.Decision.MERGED:
        if merge_into is None:
            raise ValidationError(_("Choose the proposal to merge into."))
        if merge_into.report_import_id != proposal.report_import_id:
            raise ValidationError(_("Proposals can only be merged within one report."))
        if merge_into.pk == proposal.pk:
            raise ValidationError(_("A proposal cannot be merged into itself."))
        if merge_into.decision in (Proposal.Decision.MERGED, Proposal.Decision.REJECTED):
            raise ValidationError(
                _("Merge into a proposal that is kept, not one that is merged or rejected.")
            )
        if merge_into.stance != proposal.stance:
            raise ValidationError(_("A target and an actual cannot be merged."))
        proposal.merged_into = merge_into
    else:
        proposal.merged_into = None
    if decision == Proposal.Decision.ACCEPTED:
        proposal_validate(proposal)
    proposal.decision = decision
    with transaction.atomic():
        proposal.save()
        # Whatever was merged into a proposal that is now dropped must be decided again.
        if decision in (Proposal.Decision.MERGED, Proposal.Decision.REJECTED):
            proposal.merged_from.update(decision=Proposal.Decision.PENDING, merged_into=None)
        audit_record(
            actor=actor,
            action=f"proposal.{decision}",
            instance=proposal,
            before=before,
            after=snapshot(proposal),
        )
    return proposal


def commitment_key(
    *, section: str, indicator: str, measure: str, unit: str | None, ordinal: int
) -> str:
    """What makes a commitment the same one when a report is imported again: where it
    stands and what it measures, not its figure (a corrected figure updates it)."""
    return "|".join([section.strip(), indicator.strip(), measure, unit or "", str(ordinal)])[:400]


HEADLINE_MARKERS = ("主要预期目标", "主要目标", "预期目标")


def is_headline(text: str, start: int) -> bool:
    """A target in the paragraph that lists the year's main expected targets
    (主要预期目标：地区生产总值完成1400亿元…)."""
    paragraph_start = text.rfind("\n", 0, start) + 1
    opening = text[paragraph_start : paragraph_start + 12]
    return any(marker in opening for marker in HEADLINE_MARKERS)


def _baseline_for(target: Proposal, actuals: list[Proposal]) -> Proposal | None:
    """Last year's actual of the same indicator and measure is the target's baseline."""
    candidates = [
        a
        for a in actuals
        if a.indicator == target.indicator
        and a.measure == target.measure
        and (a.unit or "") == (target.unit or "")
        and a.year < target.year
        and a.value is not None
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda a: (a.year, a.position))


@transaction.atomic
def report_import_approve(*, report_import: ReportImport, actor) -> list[Commitment]:
    """Turn the kept target proposals into tracked commitments (updating those that an
    earlier import of the same report created) and attach baselines from actuals."""
    report_import = ReportImport.objects.select_for_update().get(pk=report_import.pk)
    _check_reviewing(report_import)
    proposals = list(report_import.proposals.order_by("position"))
    kept = [
        p
        for p in proposals
        if p.decision in (Proposal.Decision.PENDING, Proposal.Decision.ACCEPTED)
    ]
    problems = []
    for p in kept:
        try:
            proposal_validate(p)
        except ValidationError as exc:
            problems.append(f"#{p.position + 1} {p.indicator}: {'; '.join(exc.messages)}")
    if problems:
        raise ValidationError([_("Fix or reject these proposals before approving:")] + problems)
    plan = report_import.plan
    actuals = [p for p in kept if p.stance == Stance.ACTUAL]
    targets = [p for p in kept if p.stance == Stance.TARGET]
    existing = {c.key: c for c in plan.commitments.all()}
    now = clock.wall_now()
    seen: dict[str, int] = {}
    result = []
    for target in targets:
        base_key = commitment_key(
            section=target.section,
            indicator=target.indicator,
            measure=target.measure,
            unit=target.unit,
            ordinal=0,
        )
        ordinal = seen.get(base_key, 0)
        seen[base_key] = ordinal + 1
        key = commitment_key(
            section=target.section,
            indicator=target.indicator,
            measure=target.measure,
            unit=target.unit,
            ordinal=ordinal,
        )
        baseline = _baseline_for(target, actuals)
        fields = {
            "section": target.section,
            "indicator": target.indicator,
            "text": target.text,
            "measure": target.measure,
            "comparator": target.comparator,
            "value": target.value,
            "upper": target.upper,
            "unit": target.unit,
            "deadline": target.deadline,
            "baseline_value": baseline.value if baseline else None,
            "baseline_year": baseline.year if baseline else None,
            "baseline_text": baseline.text if baseline else "",
            "source_import": report_import,
            "source_start": target.start,
            "source_end": target.end,
            "headline": is_headline(report_import.text, target.start),
        }
        commitment = existing.get(key)
        if commitment is None:
            commitment = Commitment.objects.create(plan=plan, key=key, created_at=now, **fields)
            audit_record(
                actor=actor,
                action="commitment.create",
                instance=commitment,
                after=snapshot(commitment),
            )
        else:
            before = snapshot(commitment)
            for name, value in fields.items():
                setattr(commitment, name, value)
            commitment.save()
            after = snapshot(commitment)
            if after != before:
                audit_record(
                    actor=actor,
                    action="commitment.update",
                    instance=commitment,
                    before=before,
                    after=after,
                )
        target.commitment = commitment
        result.append(commitment)
    Proposal.objects.bulk_update(targets, ["commitment"])
    # Merged proposals point at the commitment of the proposal they were merged into.
    by_id = {p.pk: p for p in proposals}
    merged = [p for p in proposals if p.decision == Proposal.Decision.MERGED and p.merged_into_id]
    for p in merged:
        p.commitment = by_id[p.merged_into_id].commitment
    Proposal.objects.bulk_update(merged, ["commitment"])
    before = snapshot(report_import, exclude=("text",))
    report_import.status = ReportImport.Status.APPROVED
    report_import.approved_by = actor if getattr(actor, "pk", None) else None
    report_import.approved_at = now
    report_import.save()
    audit_record(
        actor=actor,
        action="report_import.approve",
        instance=report_import,
        before=before,
        after=snapshot(report_import, exclude=("text",)),
    )
    return result


def commitment_assign(*, commitment: Commitment, actor, lead, co=None) -> Commitment:
    """Set the lead department (牵头单位) and, when given, the co-departments (配合单位)."""
    if not getattr(actor, "is_planner", False):
        raise PermissionDenied(_("Only the supervision office assigns commitments."))
    if lead is None:
        raise ValidationError(_("Choose a lead department."))
    co = list(co) if co is not None else None
    if co is not None and any(d.pk == lead.pk for d in co):
        raise ValidationError(_("The lead department cannot also be a co-department."))
    before = snapshot(commitment)
    before["co_departments"] = sorted(commitment.co_departments.values_list("pk", flat=True))
    with transaction.atomic():
        commitment.lead_department = lead
        commitment.save(update_fields=["lead_department"])
        if co is not None:
            commitment.co_departments.set(co)
        after = snapshot(commitment)
        after["co_departments"] = sorted(commitment.co_departments.values_list("pk", flat=True))
        audit_record(
            actor=actor, action="commitment.assign", instance=commitment, before=before, after=after
        )
    return commitment


TRACKING_FIELDS = (
    "cadence",
    "data_source",
    "metric",
    "pace_profile",
    "pace_values",
    "from_baseline",
)


def commitment_configure(*, commitment: Commitment, actor, **changes) -> Commitment:
    """Set how a commitment is tracked: cadence, data source (by hand or a metric of
    Duban's own data), pace profile and whether progress counts from the baseline."""
    from duban.plans import pace
    from duban.plans.metrics import registry

    if not getattr(actor, "is_planner", False):
        raise PermissionDenied(_("Only the supervision office configures tracking."))
    unknown = set(changes) - set(TRACKING_FIELDS)
    if unknown:
        raise ValidationError(
            _("Fields that cannot be edited: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    before = snapshot(commitment)
    for name, value in changes.items():
        setattr(commitment, name, value)
    if commitment.data_source == "computed":
        if commitment.metric not in registry():
            raise ValidationError({"metric": _("Unknown metric %(m)s.") % {"m": commitment.metric}})
    else:
        commitment.metric = ""
    if commitment.pace_profile == "seasonal":
        try:
            pace.seasonal_profile([Decimal(str(v or 0)) for v in (commitment.pace_values or [])])
        except (ValueError, ArithmeticError) as exc:
            raise ValidationError({"pace_values": str(exc)}) from None
    elif commitment.pace_profile == "plan":
        if len(commitment.pace_values or []) != 12:
            raise ValidationError({"pace_values": _("Give exactly 12 numbers, one per month.")})
    else:
        commitment.pace_values = None
    with transaction.atomic():
        commitment.save()
        audit_record(
            actor=actor,
            action="commitment.configure",
            instance=commitment,
            before=before,
            after=snapshot(commitment),
        )
    return commitment

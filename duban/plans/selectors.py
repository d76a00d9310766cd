"""Reads of the plans module for pages."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.db.models import Count, Q

from duban.plans.models import Commitment, Plan, Proposal, ReportImport


@dataclass
class Segment:
    text: str
    positions: list[
        int
    ]  # proposal positions whose clause covers this segment; empty for plain text


def source_segments(text: str, proposals: list[Proposal]) -> list[Segment]:
    """Split the report into plain runs and highlighted clauses. Clauses that overlap are
    joined into one highlight that names every proposal it carries."""
    spans = sorted(
        (p.start, p.end, p.position) for p in proposals if 0 <= p.start < p.end <= len(text)
    )
    merged: list[list] = []
    for start, end, position in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].append(position)
        else:
            merged.append([start, end, [position]])
    segments = []
    cursor = 0
    for start, end, positions in merged:
        if start > cursor:
            segments.append(Segment(text[cursor:start], []))
        segments.append(Segment(text[start:end], positions))
        cursor = end
    if cursor < len(text):
        segments.append(Segment(text[cursor:], []))
    return segments


def review_page(report_import: ReportImport) -> dict:
    proposals = list(report_import.proposals.select_related("merged_into").order_by("position"))
    counts = {d: 0 for d, _ in Proposal.Decision.choices}
    for p in proposals:
        counts[p.decision] += 1
    return {
        "report_import": report_import,
        "proposals": proposals,
        "segments": source_segments(report_import.text, proposals),
        "counts": counts,
    }


def plan_overview(plan: Plan, *, department_id: int | None = None) -> dict:
    commitments = (
        Commitment.objects.filter(plan=plan).select_related("lead_department").order_by("id")
    )
    if department_id is not None:
        commitments = commitments.filter(
            Q(lead_department_id=department_id) | Q(co_departments__id=department_id)
        ).distinct()
    rows = list(commitments)
    sections = [(section, list(items)) for section, items in groupby(rows, key=lambda c: c.section)]
    return {"plan": plan, "sections": sections, "total": len(rows)}


def imports_for(plan: Plan):
    return plan.imports.annotate(n_proposals=Count("proposals")).order_by("-created_at")

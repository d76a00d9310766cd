from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import Department
from duban.projects.models import (
    STAGE_ORDER,
    ApprovalKind,
    ProblemCategory,
    Project,
    ProjectType,
    Sector,
    Stage,
)
from duban.projects.services import month_end

WAN = Decimal("10000")


def wan_to_yuan(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return (value * WAN).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class ListFilterForm(forms.Form):
    """The list's filters, all optional; a wrong value is a 400 with its reason."""

    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    type = forms.ChoiceField(
        label=_("Type"), choices=[("", _("All types")), *ProjectType.choices], required=False
    )
    sector = forms.ChoiceField(
        label=_("Sector"), choices=[("", _("All sectors")), *Sector.choices], required=False
    )
    stage = forms.ChoiceField(
        label=_("Stage"), choices=[("", _("All stages")), *Stage.choices], required=False
    )
    department = forms.ModelChoiceField(
        label=_("Lead department"),
        queryset=Department.objects.all(),
        required=False,
        empty_label=_("All departments"),
    )
    q = forms.CharField(label=_("Code or name"), max_length=100, required=False)
    late = forms.BooleanField(label=_("Late only"), required=False)
    after = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)


class MonthField(forms.DateField):
    """A month as YYYY-MM (the browser's month input), cleaned to its last day."""

    widget = forms.DateInput(attrs={"type": "month"})
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value):
        day = super().to_python(value)
        return month_end(day) if day else day


class MonthlyReportForm(forms.Form):
    period_end = MonthField(label=_("Month"))
    month_investment = forms.DecimalField(
        label=_("Investment completed this month (10,000 yuan)"),
        min_value=0,
        max_digits=16,
        decimal_places=6,
    )
    cumulative_investment = forms.DecimalField(
        label=_("Cumulative investment since the project began (10,000 yuan)"),
        min_value=0,
        max_digits=16,
        decimal_places=6,
    )
    stage = forms.ChoiceField(
        label=_("Stage reached this month"),
        choices=[("", _("No change")), *[c for c in Stage.choices if c[0] != Stage.PREP]],
        required=False,
    )
    stage_date = forms.DateField(
        label=_("Reached on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    work_done = forms.CharField(
        label=_("What was done"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    problems = forms.CharField(
        label=_("Problems"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def service_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "period_end": data["period_end"],
            "month_investment": wan_to_yuan(data["month_investment"]),
            "cumulative_investment": wan_to_yuan(data["cumulative_investment"]),
            "stage": data.get("stage") or "",
            "stage_date": data.get("stage_date"),
            "work_done": data.get("work_done") or "",
            "problems": data.get("problems") or "",
        }


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("return", _("Return"))], widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class ProblemForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=ProblemCategory.choices)
    description = forms.CharField(
        label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    assigned_department = forms.ModelChoiceField(
        label=_("Department that must solve it"), queryset=Department.objects.all()
    )
    deadline = forms.DateField(label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("How it was solved"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why it is reopened"), max_length=2000)
    deadline = forms.DateField(
        label=_("New deadline"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class LedgerImportForm(forms.Form):
    file = forms.FileField(label=_("Ledger workbook (.xlsx)"))


def parse_year(value: str | None) -> int | None:
    """?year= as an int, or ValueError."""
    if value in (None, ""):
        return None
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise ValueError(value)
    return int(value)


def parse_day(value: str | None) -> dt.date | None:
    if value in (None, ""):
        return None
    return dt.date.fromisoformat(value)


DATE = {"widget": forms.DateInput(attrs={"type": "date"}), "required": False}


class ProjectForm(forms.ModelForm):
    """The registry fields, with the amounts in 万元 as the ledger has them."""

    total_wan = forms.DecimalField(
        label=_("Total investment (10,000 yuan)"), min_value=0, max_digits=16, decimal_places=6
    )
    annual_wan = forms.DecimalField(
        label=_("Planned investment this year (10,000 yuan)"),
        min_value=0,
        max_digits=16,
        decimal_places=6,
    )

    class Meta:
        model = Project
        fields = [
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
            *[
                f"{s}_{k}"
                for s in ("prep", "start", "main", "topped", "complete", "operate")
                for k in ("planned", "actual")
            ],
        ]
        widgets = {
            f"{s}_{k}": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            for s in STAGE_ORDER
            for k in ("planned", "actual")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["total_wan"] = (self.instance.total_investment / WAN).normalize()
            self.initial["annual_wan"] = (self.instance.annual_investment / WAN).normalize()

    def _post_clean(self):
        # The services validate the whole project; the form only parses.
        pass

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["total_investment"] = wan_to_yuan(self.cleaned_data["total_wan"])
        data["annual_investment"] = wan_to_yuan(self.cleaned_data["annual_wan"])
        return data


class ApprovalsForm(forms.Form):
    """Planned and actual dates of each approval step."""

    def __init__(self, *args, steps=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = list(ApprovalKind.choices)
        steps = steps or {}
        for kind, label in self.kinds:
            step = steps.get(kind)
            self.fields[f"{kind}_planned"] = forms.DateField(
                label=label, initial=step.planned_date if step else None, **DATE
            )
            self.fields[f"{kind}_actual"] = forms.DateField(
                label=label, initial=step.actual_date if step else None, **DATE
            )

    def rows(self):
        return [
            (label, self[f"{kind}_planned"], self[f"{kind}_actual"]) for kind, label in self.kinds
        ]

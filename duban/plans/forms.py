from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from duban.extract import ExtractError, decode_report
from duban.plans.models import Comparator, Measure, Proposal, Stance
from duban.plans.tracking import figure_storable

TEXT_TYPES = {"text/plain", "application/octet-stream", ""}


class ReportImportForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    year = forms.IntegerField(
        label=_("Plan year"),
        required=False,
        min_value=2000,
        max_value=2100,
        help_text=_("Leave empty to read it from the text."),
    )
    text = forms.CharField(
        label=_("Paste the report text"),
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,
        strip=False,
    )
    file = forms.FileField(label=_("or upload a .txt file (UTF-8)"), required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        if not upload.name.lower().endswith(".txt") or upload.content_type not in TEXT_TYPES:
            raise forms.ValidationError(_("Upload a plain text file (.txt)."))
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(max)s bytes).")
                % {"max": settings.UPLOAD_MAX_BYTES}
            )
        try:
            return decode_report(upload.read())
        except ExtractError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self):
        data = super().clean()
        text = data.get("text") or ""
        uploaded = data.get("file")
        if self.errors:
            return data
        if text.strip() and uploaded:
            raise forms.ValidationError(_("Paste the text or upload a file, not both."))
        if not text.strip() and not uploaded:
            raise forms.ValidationError(_("Paste the report text or upload a file."))
        data["report_text"] = uploaded or text
        return data


class ProposalForm(forms.ModelForm):
    class Meta:
        model = Proposal
        fields = [
            "stance",
            "year",
            "indicator",
            "measure",
            "comparator",
            "value",
            "upper",
            "unit",
            "deadline",
        ]
        widgets = {"deadline": forms.DateInput(attrs={"type": "date"})}

    stance = forms.ChoiceField(choices=Stance.choices)
    measure = forms.ChoiceField(choices=Measure.choices)
    comparator = forms.ChoiceField(choices=[("", "—"), *Comparator.choices], required=False)
    year = forms.IntegerField(min_value=2000, max_value=2100)

    def clean_comparator(self):
        return self.cleaned_data.get("comparator") or None

    def clean_unit(self):
        return (self.cleaned_data.get("unit") or "").strip() or None


class ProgressForm(forms.Form):
    period_end = forms.DateField(
        label=_("Period ending"), widget=forms.DateInput(attrs={"type": "date"})
    )
    value = forms.DecimalField(label=_("Figure"), required=False, max_digits=24, decimal_places=4)
    done_date = forms.DateField(
        label=_("Done on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    work_done = forms.CharField(
        label=_("What was done"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    problems = forms.CharField(
        label=_("Problems"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next_steps = forms.CharField(
        label=_("Next steps"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    evidence = forms.FileField(label=_("Evidence (image, PDF, Word or Excel)"), required=False)

    def __init__(self, *args, commitment=None, periods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.commitment = commitment
        if periods:
            self.fields["period_end"] = forms.TypedChoiceField(
                label=_("Period ending"),
                choices=[(p.isoformat(), p.isoformat()) for p in periods],
                coerce=dt.date.fromisoformat,
            )
        if commitment is not None and commitment.measure == "milestone":
            del self.fields["value"]
        elif commitment is not None:
            del self.fields["done_date"]
            unit = commitment.unit or ""
            self.fields["value"].label = {
                "level": _("Cumulative figure this year (%(unit)s)"),
                "growth": _("Year-to-date growth (%(unit)s)"),
                "share": _("Current rate (%(unit)s)"),
            }.get(commitment.measure, _("Figure")) % {"unit": unit}


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("return", _("Return"))])
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    lead_department = forms.ModelChoiceField(label=_("Lead department"), queryset=None)
    co_departments = forms.ModelMultipleChoiceField(
        label=_("Co-departments"), queryset=None, required=False
    )
    cadence = forms.ChoiceField(label=_("Reporting cadence"), choices=())
    data_source = forms.ChoiceField(label=_("Data source"), choices=())
    metric = forms.ChoiceField(label=_("Metric"), required=False, choices=())
    pace_profile = forms.ChoiceField(label=_("Pace"), choices=())
    pace_values = forms.CharField(
        label=_("Pace values"),
        required=False,
        help_text=_(
            "12 numbers separated by commas: last year's monthly actuals (seasonal) or this year's planned cumulative values (monthly plan)."
        ),
    )
    from_baseline = forms.BooleanField(label=_("Progress counts from the baseline"), required=False)

    def __init__(self, *args, **kwargs):
        from duban.accounts.models import Department
        from duban.plans.metrics import metric_choices
        from duban.plans.models import Cadence, DataSource, PaceProfile

        super().__init__(*args, **kwargs)
        self.fields["lead_department"].queryset = Department.objects.all()
        self.fields["co_departments"].queryset = Department.objects.all()
        self.fields["cadence"].choices = Cadence.choices
        self.fields["data_source"].choices = DataSource.choices
        self.fields["metric"].choices = [("", "—"), *metric_choices()]
        self.fields["pace_profile"].choices = PaceProfile.choices

    def clean_pace_values(self):
        raw = (self.cleaned_data.get("pace_values") or "").replace("，", ",").strip()
        if not raw:
            return None
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) != 12:
            raise forms.ValidationError(_("Give exactly 12 numbers, one per month."))
        try:
            values = [Decimal(p) if p else None for p in parts]
        except InvalidOperation:
            raise forms.ValidationError(_("Every value must be a number.")) from None
        if any(v is not None and not figure_storable(v) for v in values):
            raise forms.ValidationError(_("The figure is too large, or not a number."))
        return [None if v is None else str(v) for v in values]

    def clean(self):
        data = super().clean()
        if data.get("data_source") == "computed" and not data.get("metric"):
            self.add_error("metric", _("A computed commitment needs a metric."))
        if data.get("pace_profile") in ("seasonal", "plan") and not data.get("pace_values"):
            self.add_error("pace_values", _("This pace needs 12 monthly values."))
        lead = data.get("lead_department")
        if lead and lead in (data.get("co_departments") or []):
            self.add_error(
                "co_departments", _("The lead department cannot also be a co-department.")
            )
        return data


class BulkAssignForm(forms.Form):
    commitments = forms.ModelMultipleChoiceField(queryset=None)
    lead_department = forms.ModelChoiceField(label=_("Lead department"), queryset=None)

    def __init__(self, *args, plan=None, **kwargs):
        from duban.accounts.models import Department
        from duban.plans.models import Commitment

        super().__init__(*args, **kwargs)
        self.fields["commitments"].queryset = Commitment.objects.filter(plan=plan)
        self.fields["lead_department"].queryset = Department.objects.all()


class NoticeIssueForm(forms.Form):
    reply_deadline = forms.DateField(
        label=_("Reply by"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class NoticeReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("Reasons"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    measures = forms.CharField(
        label=_("Measures"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SpreadsheetUploadForm(forms.Form):
    file = forms.FileField(label=_("Filled template (.xlsx)"))

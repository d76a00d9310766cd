from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from duban.extract import ExtractError, decode_report
from duban.plans.models import Comparator, Measure, Proposal, Stance

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

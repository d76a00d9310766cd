from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import Department
from duban.cases.models import Category, Satisfaction, parse_ticket


class CaseForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("What is it about?"),
        queryset=Category.objects.filter(is_active=True),
        empty_label=_("Choose a service"),
    )
    description = forms.CharField(
        label=_("Describe the problem"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5})
    )
    address = forms.CharField(label=_("Where?"), max_length=200)
    lat = forms.DecimalField(
        label=_("Latitude"), required=False, min_value=-90, max_value=90, decimal_places=6
    )
    long = forms.DecimalField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180, decimal_places=6
    )
    reporter_name = forms.CharField(label=_("Your name"), max_length=60, required=False)
    reporter_phone = forms.RegexField(
        label=_("Phone"),
        regex=r"^[0-9+\- ]{5,30}$",
        required=False,
        error_messages={"invalid": _("Digits, spaces, + and - only.")},
    )
    reporter_email = forms.EmailField(label=_("E-mail"), max_length=200, required=False)


class _ForTheCaller:
    """Staff file for someone else: the contact fields are the caller's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reporter_name"].label = _("Caller's name")
        self.fields["reporter_phone"].label = _("Caller's phone")
        self.fields["reporter_email"].label = _("Caller's e-mail")
        self.fields["description"].label = _("What the caller reports")


class StaffCaseForm(_ForTheCaller, CaseForm):
    """The centre's planners file for a citizen: a call, an inspector's find, a letter."""

    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[
            ("hotline", _("Hotline 12345")),
            ("inspection", _("Inspector")),
            ("web", _("Web form")),
        ],
    )


class HotlineCaseForm(_ForTheCaller, CaseForm):
    """A hotline operator enters a call: the channel is the hotline."""


class FindForm(forms.Form):
    """A ticket number as a caller reads it out: full-width digits and dashes (a Chinese
    input method's) and spaces are accepted."""

    ticket = forms.CharField(label=_("Ticket number"), max_length=40)

    def clean_ticket(self):
        raw = unicodedata.normalize("NFKC", self.cleaned_data["ticket"])
        raw = re.sub(r"\s+", "", raw).replace("—", "-").replace("–", "-")
        parsed = parse_ticket(raw)
        if parsed is None:
            raise forms.ValidationError(
                _("A ticket number is the day and the case number, like 20220930-123.")
            )
        return parsed


class FeedbackForm(forms.Form):
    satisfaction = forms.ChoiceField(
        label=_("Are you satisfied?"), choices=Satisfaction.choices, widget=forms.RadioSelect
    )
    solved = forms.TypedChoiceField(
        label=_("Is the problem solved?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        required=False,
        empty_value=None,
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class KpiForm(forms.Form):
    group = forms.ChoiceField(
        label=_("By"),
        choices=[
            ("department", _("department")),
            ("category", _("category")),
            ("channel", _("channel")),
        ],
        required=False,
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput({"type": "date"})
    )
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or self.initial_end
        start = data.get("start") or end.replace(month=1, day=1)
        if end < start:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (end - start).days > 3660:
            raise forms.ValidationError(_("At most ten years at a time."))
        data.update(group=data.get("group") or "department", start=start, end=end)
        return data

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial_end = today


class ActionForm(forms.Form):
    """The fields any workflow step may carry; each step checks what it needs."""

    action = forms.CharField(max_length=30)
    note = forms.CharField(max_length=4000, required=False)
    amount = forms.IntegerField(min_value=1, max_value=365, required=False)
    department = forms.ModelChoiceField(queryset=Department.objects.all(), required=False)
    duplicate_of = forms.IntegerField(min_value=1, required=False)
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(is_active=True), required=False
    )

from django import forms

from duban.cockpit.models import EvaluationScheme


class SchemeForm(forms.ModelForm):
    class Meta:
        model = EvaluationScheme
        fields = [
            "weight_commitments",
            "weight_projects",
            "weight_cases",
            "deduct_overdue_report",
            "deduct_unanswered_notice",
            "deduct_overdue_case",
            "deduct_returned_case",
            "deduct_overdue_problem",
            "note",
        ]

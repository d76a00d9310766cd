from django.contrib import admin

from duban.cockpit.models import EvaluationScheme


@admin.register(EvaluationScheme)
class EvaluationSchemeAdmin(admin.ModelAdmin):
    """Read-only: a scheme changes by adding a version on the scheme page."""

    list_display = [
        "version",
        "weight_commitments",
        "weight_projects",
        "weight_cases",
        "created_at",
        "created_by",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

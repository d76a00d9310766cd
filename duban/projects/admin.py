from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from duban import clock
from duban.audit.admin import AuditedAdminMixin
from duban.projects.models import ApprovalStep, MonthlyReport, Problem, Project
from duban.projects.services import PROJECT_FIELDS, project_check


class ProjectAdminForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = list(PROJECT_FIELDS)

    def _post_clean(self):
        super()._post_clean()
        # The same cross-field rules as the services and the ledger import.
        if not self.errors:
            try:
                project_check(self.instance)
            except ValidationError as exc:
                self._update_errors(exc)


class ApprovalInline(admin.TabularInline):
    model = ApprovalStep
    extra = 0


@admin.register(Project)
class ProjectAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["code", "name", "plan_year", "project_type", "sector", "lead_department"]
    list_filter = ["plan_year", "project_type", "sector", "lead_department"]
    search_fields = ["code", "name", "owner_company"]
    inlines = [ApprovalInline]

    def save_model(self, request, obj, form, change):
        obj.updated_at = clock.wall_now()
        if not change:
            obj.created_at = obj.updated_at
        super().save_model(request, obj, form, change)


@admin.register(MonthlyReport)
class MonthlyReportAdmin(admin.ModelAdmin):
    """Read only: reports change through the report path (submit, review), never here."""

    list_display = ["project", "period_end", "version", "status", "month_investment"]
    list_filter = ["status", "period_end"]
    search_fields = ["project__code", "project__name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ["project", "category", "assigned_department", "deadline", "status"]
    list_filter = ["status", "category", "assigned_department"]
    search_fields = ["project__code", "description"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

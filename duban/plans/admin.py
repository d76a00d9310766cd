from django.contrib import admin

from duban.audit.admin import AuditedAdminMixin
from duban.plans.models import Commitment, Plan, ProgressReport, SupervisionNotice


@admin.register(Plan)
class PlanAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["year", "title", "yellow_ratio", "milestone_red_days", "report_grace_days"]


@admin.register(Commitment)
class CommitmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "indicator",
        "plan",
        "measure",
        "comparator",
        "value",
        "unit",
        "deadline",
        "lead_department",
    ]
    list_filter = ["plan", "measure", "lead_department", "data_source"]
    search_fields = ["indicator", "text", "section"]
    readonly_fields = ["key", "source_import", "source_start", "source_end", "created_at"]


@admin.register(ProgressReport)
class ProgressReportAdmin(admin.ModelAdmin):
    """Read-only here: reports change only through their review path."""

    list_display = ["commitment", "period_end", "version", "status", "value", "department"]
    list_filter = ["status", "department"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SupervisionNotice)
class SupervisionNoticeAdmin(admin.ModelAdmin):
    list_display = ["number", "commitment", "department", "status", "reply_deadline"]
    list_filter = ["status", "trigger"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin
from django.db import transaction

from duban.audit.services import audit_record, snapshot
from duban.cases.models import Attribute, CalendarDay, Case, Category, WorkdayCalendar


class AuditedAdmin(admin.ModelAdmin):
    """Changes made in the admin are audited like any other (the calendar decides
    deadlines, the catalogue decides who handles what)."""

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.{'update' if change else 'create'}",
                instance=obj,
                before=before,
                after=snapshot(obj),
            )

    def delete_model(self, request, obj):
        before = snapshot(obj)
        pk = obj.pk
        with transaction.atomic():
            super().delete_model(request, obj)
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.delete",
                entity=obj._meta.label_lower,
                entity_id=pk,
                before=before,
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # bulk deletes would bypass the audit
        return actions


@admin.register(WorkdayCalendar)
class WorkdayCalendarAdmin(AuditedAdmin):
    list_display = ("year", "source", "note")


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdmin):
    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
    date_hierarchy = "date"


class AttributeInline(admin.TabularInline):
    model = Attribute
    extra = 0


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = (
        "code",
        "name",
        "group",
        "default_department",
        "emergency",
        "response_limit",
        "response_unit",
        "resolution_limit",
        "resolution_unit",
        "clock_start",
        "is_active",
    )
    list_filter = ("group", "emergency", "is_active")
    inlines = [AttributeInline]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-only: cases change through their workflow (services.py), which audits."""

    list_display = ("id", "category", "channel", "status", "department", "received_at")
    list_filter = ("status", "channel")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin

from duban.cases.models import Attribute, CalendarDay, Case, Category, WorkdayCalendar


@admin.register(WorkdayCalendar)
class WorkdayCalendarAdmin(admin.ModelAdmin):
    list_display = ("year", "source", "note")


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
    date_hierarchy = "date"


class AttributeInline(admin.TabularInline):
    model = Attribute
    extra = 0


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
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

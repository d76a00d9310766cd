from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import Department, User
from duban.audit.admin import AuditedAdminMixin


@admin.register(Department)
class DepartmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "parent", "is_supervision_office"]
    search_fields = ["code", "name"]


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    list_display = ["username", "first_name", "department", "role", "is_active"]
    list_filter = ["role", "department", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + ((_("Duban"), {"fields": ("department", "role")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (_("Duban"), {"fields": ("department", "role")}),
    )

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from duban.audit.models import AuditEntry
from duban.audit.services import audit_record, snapshot


class AuditedAdminMixin:
    """Admin edits are changes of business data too: record them in the audit log."""

    def save_model(self, request, obj, form, change):
        before = None
        if change and obj.pk:
            before = snapshot(type(obj).objects.get(pk=obj.pk))
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="admin.change" if change else "admin.add",
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
                action="admin.delete",
                entity=obj._meta.label_lower,
                entity_id=pk,
                before=before,
            )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["seq", "at", "actor", "action", "entity", "entity_id"]
    list_filter = ["action", "entity"]
    search_fields = ["entity_id", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

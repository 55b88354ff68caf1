"""Admin: the audit log, read-only (the database refuses changes to it anyway)."""

from django.contrib import admin

from auditlog.models import AuditEvent
from config.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "actor_username", "ip", "action", "object_type", "object_id", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_username", "object_id", "object_repr", "action"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AuditEvent._meta.fields]

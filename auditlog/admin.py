"""Admin: the audit log, read-only (the database refuses changes to it anyway)."""

from django.apps import apps
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from auditlog.labels import EVENT_LABELS, event_label
from auditlog.models import AuditEvent
from config.admin import ReadOnlyAdmin

PROJECT_APPS = ("auth", "auditlog", "operators", "filings", "outflows", "screening", "audits", "api")


def _model_name(label: str) -> str:
    """'audits.flag' -> 'нарушение' (the model's name in the page's language)."""
    try:
        return str(apps.get_model(label)._meta.verbose_name) if label else ""
    except (LookupError, ValueError):
        return label


class EventFilter(admin.SimpleListFilter):
    """Events by their names (the codes stay in the URL)."""

    title = _("событие")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(((code, str(label)) for code, label in EVENT_LABELS.items()), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class ObjectTypeFilter(admin.SimpleListFilter):
    title = _("тип объекта")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        named = (
            m
            for m in apps.get_models()
            if m._meta.app_label in PROJECT_APPS and "verbose_name" in m._meta.original_attrs
        )
        models = ((m._meta.label_lower, str(m._meta.verbose_name)) for m in named)
        return sorted(models, key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "actor_username", "ip", "event", "object_kind", "object_id", "object_repr"]
    list_filter = [EventFilter, ObjectTypeFilter]

    @admin.display(description=_("событие"), ordering="action")
    def event(self, obj):
        return event_label(obj.action)

    @admin.display(description=_("тип объекта"), ordering="object_type")
    def object_kind(self, obj):
        return _model_name(obj.object_type)

    search_fields = ["actor_username", "object_id", "object_repr", "action"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in AuditEvent._meta.fields]

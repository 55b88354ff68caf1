"""Every change and export made in the admin, written to the audit log (DESIGN section 7), in one place.

`AuditedAdminMixin` hooks Django's own admin log (log_addition, log_change, log_deletions): the admin
calls them once per object for the add and change pages, list_editable rows, the password page,
the delete page and the bulk delete action, so each change is one audit event. Admin actions that
change objects themselves call `log_change_fields`. `AuditedExportMixin` records each
django-import-export download with its format and row count, and each confirmed import.

Details carry the names of the changed fields; values (before/after) only for the fields an admin
lists in `audit_values`, so a password hash, a token's key hash or an OTP secret never reach the log.
"""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from auditlog.services import audit_event_record


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _plain(value: Any) -> Any:
    """A field value as the log keeps it: related objects by their names, the rest as JSON takes it."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (list, tuple, set, models.QuerySet)):
        items = list(value)
        return sorted(str(v) for v in items) if any(isinstance(v, models.Model) for v in items) else items
    try:
        json.dumps(value, cls=DjangoJSONEncoder)
    except TypeError:
        return str(value)
    return value


def _field_value(obj: models.Model, name: str) -> Any:
    field = obj._meta.get_field(name)
    if field.many_to_many:
        return _plain(list(getattr(obj, name).all())) if obj.pk is not None else []
    if field.is_relation:
        return _plain(getattr(obj, name, None))
    return _plain(field.value_from_object(obj))


def _secret_free(names) -> list[str]:
    # Password forms name their fields password1/password2: the log says only "password".
    return sorted({"password" if "password" in name else name for name in names})


class AuditedAdminMixin:
    """Mix into a ModelAdmin (before admin.ModelAdmin): add, change and delete become audit events."""

    #: Model fields whose values (not only names) are logged. Never secrets.
    audit_values: tuple[str, ...] = ()

    def _audit_snapshot(self, obj: models.Model) -> dict:
        names = {f.name for f in obj._meta.get_fields()}
        return {name: _field_value(obj, name) for name in self.audit_values if name in names}

    def save_form(self, request, form, change):
        # Called before save_model on the change page and for each list_editable row: the values
        # as stored, before this change.
        obj = super().save_form(request, form, change)
        if change and obj.pk is not None:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            obj._audit_before = self._audit_snapshot(stored) if stored is not None else {}
        return obj

    def construct_change_message(self, request, form, formsets, add=False):
        request._audit_change = {
            "fields": list(form.changed_data),
            "inlines": [
                {
                    "model": formset.model._meta.label_lower,
                    "added": [str(o.pk) for o in formset.new_objects],
                    "changed": [str(o.pk) for o, _ in formset.changed_objects],
                    "deleted": [str(o.pk) for o in formset.deleted_objects],
                }
                for formset in formsets or []
                if formset.new_objects or formset.changed_objects or formset.deleted_objects
            ],
        }
        return super().construct_change_message(request, form, formsets, add)

    def _audit_record(self, request, obj: models.Model, action: str, *, fields=None, before=None, after=None):
        change = getattr(request, "_audit_change", None) or {}
        request._audit_change = None
        fields = list(change.get("fields", []) if fields is None else fields)
        if before is not None and after is not None:
            # A field whose stored value did not move is no change (a multiple choice re-sent as is).
            fields = [f for f in fields if f not in before or before.get(f) != after.get(f)]
            before = {k: v for k, v in before.items() if k in fields}
            after = {k: v for k, v in after.items() if k in fields}
        details = {"model": obj._meta.label_lower, "object_id": str(obj.pk), "fields": _secret_free(fields)}
        if change.get("inlines"):
            details["inlines"] = change["inlines"]
        audit_event_record(
            actor=request.user, action=action, obj=obj, ip=_ip(request), before=before, after=after, details=details
        )

    def log_addition(self, request, obj, message):
        self._audit_record(request, obj, "admin.add", after=self._audit_snapshot(obj) or None)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        before = getattr(obj, "_audit_before", None)
        after = self._audit_snapshot(obj) if before is not None else None
        self._audit_record(request, obj, "admin.change", before=before, after=after)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit_record(request, obj, "admin.delete", fields=[], before=self._audit_snapshot(obj) or None)
        return super().log_deletions(request, queryset)

    def log_change_fields(self, request, obj, *, fields: list[str], before: dict) -> None:
        """For admin actions that change an object themselves: one event, and Django's own log entry."""
        obj._audit_before = before
        request._audit_change = {"fields": list(fields)}
        self.log_change(request, obj, [{"changed": {"fields": list(fields)}}])


class AuditedExportMixin:
    """Mix into an import-export admin (before ExportMixin): each download is one `admin.export` event,
    each confirmed import (not its dry run) one `admin.import` event with the counts of its rows."""

    def generate_log_entries(self, result, request):
        # Called by ImportMixin.process_result, once per confirmed import.
        audit_event_record(
            actor=request.user,
            action="admin.import",
            ip=_ip(request),
            details={"model": self.model._meta.label_lower, "totals": dict(result.totals)},
        )
        return super().generate_log_entries(result, request)

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        request._audit_export_rows = len(data)
        request._audit_export_fields = list(data.headers or [])
        return data

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # Every way to download (the export page, the "export selected" action) passes here.
        exported = super().get_export_data(file_format, request, queryset, **kwargs)
        audit_event_record(
            actor=request.user,
            action="admin.export",
            ip=_ip(request),
            details={
                "model": self.model._meta.label_lower,
                "format": file_format.get_extension(),
                "rows": getattr(request, "_audit_export_rows", None),
                "columns": getattr(request, "_audit_export_fields", []),
            },
        )
        return exported

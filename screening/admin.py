"""Admin: supervisors upload a list file (a new version, imported all or nothing, then screened);
list versions, their entries, hits and sanctioned platforms are read only here (hits are decided
on the review page, /screening/). Permissions: operators.roles (screening.add_listimport)."""

import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from auditlog.admin_audit import AuditedAdminMixin
from config.admin import ReadOnlyAdmin
from screening.formats import ListFileError
from screening.imports import list_import_file
from screening.models import SCHEMA_LABELS, Hit, ListEntry, ListImport, PlatformAlias, SanctionedPlatform
from screening.tasks import rescreen


class ListUploadForm(forms.ModelForm):
    file = forms.FileField(label=_("файл списка"))

    class Meta:
        model = ListImport
        fields = ("format", "list_name", "source")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["list_name"].required = False
        self.fields["source"].required = False
        self.fields["list_name"].help_text = _("Пусто: обычное название формата (OpenSanctions, OFAC SDN, ...).")

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload is None or not data.get("format"):
            return data
        with tempfile.NamedTemporaryFile(prefix="screening-", suffix=".list", delete=False) as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
        self.stored = Path(tmp.name)
        try:
            self.result = list_import_file(
                path=self.stored,
                format=data["format"],
                list_name=data.get("list_name") or "",
                source=data.get("source") or upload.name,
                actor=self.request_user,
                ip=self.request_ip,
            )
        except ListFileError as exc:
            raise forms.ValidationError(
                _("Файл не загружен, ничего не импортировано: %(error)s") % {"error": exc}
            ) from exc
        finally:
            self.stored.unlink(missing_ok=True)
        return data


@admin.register(ListImport)
class ListImportAdmin(admin.ModelAdmin):
    list_display = ("list_name", "format", "source", "published_on", "imported_at", "entry_count", "sha256")
    list_filter = ("list_name", "format")
    form = ListUploadForm

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        form.request_ip = request.META.get("REMOTE_ADDR", "")
        return form

    def save_model(self, request, obj, form, change):
        # The import (audit-logged) already happened in the form's clean: all or nothing.
        version = form.result.list_import
        obj.pk, obj.list_name, obj.sha256 = version.pk, version.list_name, version.sha256
        rescreen.delay()


@admin.register(PlatformAlias)
class PlatformAliasAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Supervisors add a platform's other names and websites; the screening compares them too."""

    list_display = ("platform", "kind", "value")
    list_filter = ("kind",)
    audit_values = ("platform", "kind", "value")
    search_fields = ("platform__slug", "platform__name", "value")


@admin.register(ListEntry)
class ListEntryAdmin(ReadOnlyAdmin):
    list_display = ("entry_id", "caption", "kind", "listed_on", "list_import")
    list_filter = ("list_import__list_name",)
    search_fields = ("entry_id", "caption")

    @admin.display(description=_("вид"))
    def kind(self, obj):
        return SCHEMA_LABELS.get(obj.schema, obj.schema)


@admin.register(Hit)
class HitAdmin(ReadOnlyAdmin):
    list_display = ("kind", "subject", "list_name", "entry_id", "score", "status", "current", "last_seen")
    list_filter = ("status", "kind", "list_name")


@admin.register(SanctionedPlatform)
class SanctionedPlatformAdmin(ReadOnlyAdmin):
    list_display = ("platform", "listed_on", "confirmed_by", "confirmed_at")

"""Admin for supervisors (registry with import/export) and auditors (read-only by permissions)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from auditlog.admin_audit import AuditedAdminMixin, AuditedExportMixin
from config.admin import ImportExportAdmin, ReadOnlyAdmin
from config.spreadsheets import SafeCSV, SafeXLSX
from operators.import_formats import BoundedImportAdminMixin, BoundedRegistryImportMixin
from operators.models import ForeignPlatform, Operator, OperatorMembership, OperatorStatusChange
from operators.registry import operator_status_change
from operators.resources import OperatorResource

admin.site.site_header = _("Портал надзора за криптооператорами")
admin.site.site_title = _("КГК")
admin.site.index_title = _("Администрирование")


class OperatorStatusChangeInline(admin.TabularInline):
    model = OperatorStatusChange
    fields = ("changed_at", "from_status", "to_status", "changed_by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OperatorMembershipInline(admin.TabularInline):
    model = OperatorMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Operator)
class OperatorAdmin(AuditedAdminMixin, AuditedExportMixin, BoundedRegistryImportMixin, ImportExportAdmin):
    audit_values = (
        "unp",
        "name",
        "htp_certificate_no",
        "htp_certificate_valid_until",
        "htp_registered_on",
        "activity",
        "status",
        "legal_address",
        "aml_officer",
        "website",
        "email",
        "phone",
    )
    resource_classes = [OperatorResource]
    formats = [SafeCSV, SafeXLSX]
    list_display = ("unp", "name", "activity", "status", "htp_certificate_valid_until", "updated_at")
    list_filter = ("status", "activity")
    search_fields = ("unp", "name", "htp_certificate_no")
    inlines = [OperatorMembershipInline, OperatorStatusChangeInline]
    readonly_fields = ("created_at", "updated_at")

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def save_model(self, request, obj, form, change):
        # A status edited in the form goes through the service, so history is recorded.
        if change and "status" in form.changed_data:
            new_status = obj.status
            obj.status = form.initial["status"]
            super().save_model(request, obj, form, change)
            operator_status_change(
                operator=obj, to_status=new_status, user=request.user, reason="Изменено в администрировании"
            )
            obj.refresh_from_db()
            return
        super().save_model(request, obj, form, change)
        if not change:
            OperatorStatusChange.objects.create(operator=obj, to_status=obj.status, changed_by=request.user)


@admin.register(ForeignPlatform)
class ForeignPlatformAdmin(AuditedAdminMixin, AuditedExportMixin, BoundedImportAdminMixin, ImportExportAdmin):
    audit_values = ("slug", "name", "country", "verified", "high_risk")
    formats = [SafeCSV, SafeXLSX]
    list_display = ("slug", "name", "country", "verified", "high_risk", "updated_at")
    list_filter = ("verified", "high_risk", "country")
    search_fields = ("slug", "name")


@admin.register(OperatorMembership)
class OperatorMembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_values = ("user", "operator")
    list_display = ("user", "operator", "created_at")
    search_fields = ("user__username", "operator__unp", "operator__name")
    autocomplete_fields = ("user", "operator")


@admin.register(OperatorStatusChange)
class OperatorStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("operator", "from_status", "to_status", "changed_by", "changed_at")
    list_filter = ("to_status",)
    search_fields = ("operator__unp", "operator__name")


# Users and groups are managed within the portal's roles (the filing admin is filings/admin.py).
from operators import admin_users  # noqa: E402, F401

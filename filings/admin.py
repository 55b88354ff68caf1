"""Admin for the filing intake: filings with their errors, client registers, filed profiles, the filing calendar.

Supervisors edit the calendar here; filings themselves are read-only records
(they change only through filings.services).
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from auditlog.admin_audit import AuditedAdminMixin
from config.admin import DateHierarchyAdmin
from operators.models import ClientRecord, FilingCalendar, FilingError, OperatorProfileRecord, RegistrationFiling


class FilingErrorInline(admin.TabularInline):
    """Errors of one filing. A register with very many errors is better read on the filing page (paged)."""

    model = FilingError
    fields = ("row", "column", "value", "code", "message_ru", "message_en")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RegistrationFiling)
class RegistrationFilingAdmin(DateHierarchyAdmin):
    list_display = (
        "id",
        "operator",
        "kind",
        "period_start",
        "period_end",
        "due_date",
        "submitted_at",
        "status",
        "rows_total",
        "rows_imported",
        "error_count",
    )
    list_filter = ("status", "kind", "period_start")
    search_fields = ("operator__unp", "operator__name", "sha256", "original_name")
    date_hierarchy = "submitted_at"
    list_select_related = ("operator",)
    raw_id_fields = ("operator", "submitted_by", "superseded_by")
    # The stored file through the portal's authorised view (filings:file), not its /media/ URL (a 404).
    readonly_fields = [f.name if f.name != "file" else "stored_file" for f in RegistrationFiling._meta.fields]
    exclude = ("file",)
    inlines = [FilingErrorInline]

    @admin.display(description=_("файл"))
    def stored_file(self, obj):
        if not obj or not obj.file:
            return "—"
        url = reverse("filings:file", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name or obj.file.name)

    def has_add_permission(self, request):
        return False  # filings arrive through the upload page, the API or import_filing


@admin.register(ClientRecord)
class ClientRecordAdmin(admin.ModelAdmin):
    list_display = ("investor_ref", "operator", "residency_country", "registered_at", "kyc_level", "filing")
    list_filter = ("kyc_level", "residency_country")
    search_fields = ("investor_ref", "operator__unp", "operator__name")
    list_select_related = ("operator", "filing")
    raw_id_fields = ("operator", "filing")
    readonly_fields = ("operator", "filing", "investor_ref", "residency_country", "registered_at", "kyc_level")

    def has_add_permission(self, request):
        return False


@admin.register(OperatorProfileRecord)
class OperatorProfileRecordAdmin(admin.ModelAdmin):
    list_display = ("unp", "name", "operator", "htp_certificate_no", "htp_certificate_valid_until", "filing")
    search_fields = ("unp", "name", "operator__unp")
    list_select_related = ("operator", "filing")
    readonly_fields = [f.name for f in OperatorProfileRecord._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(FilingCalendar)
class FilingCalendarAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_values = ("kind", "periodicity", "due_days_after_period", "change_notice_days")
    list_display = ("kind", "periodicity", "due_days_after_period", "change_notice_days", "updated_at")

"""Admin pieces shared by the apps."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import BadRequest
from django.utils.translation import gettext
from import_export.admin import ImportExportModelAdmin


class DateHierarchyAdmin(admin.ModelAdmin):
    """A ModelAdmin with a date_hierarchy: a year beyond any date (`?submitted_at__year=10**30`, 9999)
    is an incorrect filter (the changelist's ?e=1), not the 500 of Django's OverflowError/ValueError."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class ImportExportAdmin(ImportExportModelAdmin):
    """django-import-export's admin whose export refuses a bad filter with 400.

    The export view filters with the changelist's parameters but, unlike the changelist,
    does not catch a parameter that is not a lookup (`?x=1`, a 500 from FieldError).
    """

    def get_export_queryset(self, request):
        try:
            return super().get_export_queryset(request)
        except IncorrectLookupParameters as exc:
            raise BadRequest(gettext("Неверный фильтр выгрузки")) from exc


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody edits in the admin (history, audit log, finished runs): view only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

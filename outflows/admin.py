"""Admin: outflow runs with their stats (read-only: a finished run is never changed), transfers to look up."""

from django.contrib import admin

from config.admin import ReadOnlyAdmin
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat
from outflows.selectors import STAT_FIELDS


class OutflowStatInline(admin.TabularInline):
    model = OutflowStat
    fields = STAT_FIELDS
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("dimension", "key", "cohort")

    def get_queryset(self, request):
        # The totals over all cohorts; the per-cohort rows are on the stats page and in the API.
        return super().get_queryset(request).filter(cohort="all")


@admin.register(OutflowRun)
class OutflowRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "as_of", "window_days", "status", "input_rows", "excess_return_byn", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in OutflowRun._meta.fields]
    inlines = [OutflowStatInline]


@admin.register(CrossBorderTransfer)
class CrossBorderTransferAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "operator", "occurred_at", "direction", "investor_ref", "platform", "value_byn")
    list_filter = ("direction",)
    search_fields = ("=external_id", "=investor_ref", "=operator__unp")
    list_select_related = ("operator", "platform")
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page
    raw_id_fields = ("operator", "filing", "platform")

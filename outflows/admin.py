"""Admin: outflow runs with their stats (read-only: a finished run is never changed), transfers to look up."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin
from config.admin_paging import KeysetPagedAdmin
from operators.models import Operator
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
class CrossBorderTransferAdmin(KeysetPagedAdmin, ReadOnlyAdmin):
    """Latest first, in keyset pages with an estimated total above config.paging's limit (no COUNT(*)
    over millions of rows, no OFFSET); the search is an exact match that reads an index."""

    list_display = ("external_id", "operator", "occurred_at", "direction", "investor_ref", "platform", "value_byn")
    list_filter = ("direction",)
    search_fields = ("external_id", "investor_ref", "operator__unp")  # exact: get_search_results
    search_help_text = _("Точное совпадение: номер перевода, код инвестора или УНП оператора.")
    list_select_related = ("operator", "platform")
    raw_id_fields = ("operator", "filing", "platform")
    # Newest first by time: the (occurred_at, id) btree serves every page, and an operator's rows
    # (a twentieth of the table) are found among the latest ones, not behind a month of registers.
    keyset_keys = ("occurred_at", "id")

    def get_search_results(self, request, queryset, search_term):
        """Exact, through an index each (not Django's UPPER(...) = UPPER(...), which none serves): an
        operator's rows when the term is its UNP, else the transfers with that number (the unique
        (operator, external_id) index, one probe per operator), else an investor's (the bloom BRIN)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        operators = list(Operator.objects.values_list("pk", "unp"))
        by_unp = [pk for pk, unp in operators if unp == term]
        if by_unp:  # an operator's UNP: its rows (latest first, read in the (occurred_at, id) order)
            return queryset.filter(operator_id__in=by_unp), False
        numbered = queryset.filter(operator_id__in=[pk for pk, _ in operators], external_id=term)
        if numbered.exists():  # a transfer number (one probe per operator), else an investor's code
            return numbered, False
        return queryset.filter(investor_ref=term), False

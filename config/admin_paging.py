"""Keyset pages for the admin's changelists of big tables (config.paging underneath).

Django's changelist counts the filtered rows on every request (COUNT(*) over millions) and
reaches page n with OFFSET. This one shows the total of config.paging.list_total (exact up to its
limit, else the planner's estimate) and pages with `after`/`before` cursors on the model's keys,
so a deep page costs what the first does. Columns are not sortable (the order is the keyset's).
"""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from config.paging import CURSOR_PARAMS, keyset_page


class KeysetChangeList(ChangeList):
    descending: bool = True  # newest first, in the order of the admin's keyset_keys

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # Not filters: links built from these params (filters, search) start again at the first page.
        for name in ("after", "before"):
            self.params.pop(name, None)
            self.filter_params.pop(name, None)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        for name in CURSOR_PARAMS:
            lookup_params.pop(name, None)
        return lookup_params

    def get_results(self, request):
        page = keyset_page(
            self.queryset,
            params=request.GET,
            keys=self.model_admin.keyset_keys,
            descending=self.descending,
            size=self.list_per_page,
        )
        self.keyset_page = page
        self.result_count = page.total.value
        self.total = page.total
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.full_result_count = None
        self.result_list = page.rows
        self.can_show_all = False
        self.multi_page = page.has_other_pages
        self.paginator = None


class KeysetPagedAdmin(admin.ModelAdmin):
    """A ModelAdmin paged by keyset on keyset_keys, latest first: its change_list template shows the total and
    the cursor links (templates/admin/keyset_change_list.html)."""

    change_list_template = "admin/keyset_change_list.html"
    keyset_keys: tuple[str, ...] = ("id",)  # one or two indexed fields, the last unique
    sortable_by = ()
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return KeysetChangeList

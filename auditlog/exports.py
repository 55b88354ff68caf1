"""An export is an audited act: the one download path of every page export (issue 16, item 6).

`export_download` checks the size of the selection against its cap (a bounded count: it reads at
most cap + 1 rows' worth): settings.EXPORT_MAX_ROWS for CSV (streamed as written; default 200 000),
EXPORT_MAX_ROWS_XLSX for XLSX (written before it is sent: about 35 s per 100 000 rows of 12 columns
with openpyxl on a busy 2-core machine, so default 50 000), writes one `export.<what>` audit event with the
format, the filters, the language and the number of rows, then streams the file written by
config.exports (CSV for the reader's language, XLSX with typed cells). Above the cap nothing is
written or logged: the page comes back with a message asking for narrower filters.

Who may export is the calling view's question (operators.access.access_of); the selection it
passes is already the caller's visible rows (the *_visible selectors).
"""

from collections.abc import Callable, Sequence

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from auditlog.services import audit_event_record
from config.exports import FORMATS, Column, export_response

DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_ROWS_XLSX = 50_000
CHUNK = 2000


def export_max_rows(fmt: str = "csv") -> int:
    """The most rows one download may hold: CSV as configured, XLSX never more than CSV."""
    cap = getattr(settings, "EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS)
    if fmt == "xlsx":
        cap = min(cap, getattr(settings, "EXPORT_MAX_ROWS_XLSX", DEFAULT_MAX_ROWS_XLSX))
    return cap


def _grouped(number: int) -> str:
    return f"{number:,}".replace(",", "\u00a0")


def export_download(
    request,
    *,
    fmt: str,
    action: str,
    columns: Sequence[Column],
    source: QuerySet | Sequence,
    row: Callable | None = None,
    filename: str,
    sheet: object,
    filters: dict | None = None,
    obj=None,
    back: str | None = None,
):
    """Download `source` (a queryset, iterated in chunks, or a list of rows) as CSV or XLSX.

    `row` maps one item of `source` to its cells (default: the item itself). `back` is where the
    user is sent when the selection is above the cap: the page with the same filters.
    """
    if fmt not in FORMATS:
        raise Http404
    cap = export_max_rows(fmt)
    if isinstance(source, QuerySet):
        count = source[: cap + 1].count()
        items = source.iterator(chunk_size=CHUNK)
    else:
        count = len(source)
        items = iter(source)
    if count > cap:
        messages.error(
            request,
            _("Выбрано больше %(cap)s строк — выгрузка не создана. Уточните фильтры (например, период).")
            % {"cap": _grouped(cap)},
        )
        csv_cap = export_max_rows("csv")
        if cap < csv_cap:
            messages.info(request, _("В CSV можно выгрузить до %(cap)s строк.") % {"cap": _grouped(csv_cap)})
        return redirect(back or "/")
    rows = map(row, items) if row is not None else items
    audit_event_record(
        actor=request.user,
        action=action,
        obj=obj,
        ip=request.META.get("REMOTE_ADDR"),
        details={
            "format": fmt,
            "filters": {k: v for k, v in (filters or {}).items() if v not in ("", None)},
            "rows": count,
            "language": translation.get_language(),
        },
    )
    return export_response(columns=columns, rows=rows, fmt=fmt, filename=filename, sheet=sheet)

"""The upload's guiding pages (issue 16, item 4): a dry run's result with its kept file, its error
report, "Submit this file", and the status requests the progress bar polls (static/js/upload.js).

Who may use them: a kept file (a dry run's) is its own user's only, for an operator that user
still acts for, until it expires; anyone else gets 404. A filing's status: whoever may see the
filing (its operator's staff, the SCC: filings.selectors.filings_visible), else 404. An upload
form's status: the user who sent the form only.
"""

import io
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook

from auditlog.services import audit_event_record
from config.spreadsheets import export_response
from filings.corrections import correction_context, correction_from_post, period_latest
from filings.kept import kept_errors, kept_upload_get, kept_upload_submit, new_upload_token
from filings.models import KeptUpload
from filings.processing import FINAL
from filings.progress import DONE, QUEUED, SENDING, filing_key, progress_get, upload_key
from filings.report import report_rows
from filings.selectors import filings_visible
from filings.validate import COLUMNS
from operators.access import access_of
from operators.models import RegistrationFiling

ERRORS_PER_PAGE = 100
TOKEN_MAX = 64


def _resubmission(kept: KeptUpload) -> bool:
    return (
        period_latest(
            operator=kept.operator, kind=kept.kind, period_start=kept.period_start, period_end=kept.period_end
        )
        is not None
    )


def _kept_or_404(request, token: str) -> KeptUpload:
    try:
        return kept_upload_get(token=token[:TOKEN_MAX], user=request.user, operator_ids=access_of(request).operator_ids)
    except KeptUpload.DoesNotExist:
        request.refusal_reason = "kept upload not found, expired or not the user's"
        raise Http404 from None


@login_required
@require_GET
def check_detail(request, token: str):
    """A dry run's result: "проверка пройдена" or "не пройдена", every error, the report, "Submit this file"."""
    kept = _kept_or_404(request, token)
    errors_page = Paginator(kept_errors(kept), ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "filings/check.html",
        {
            "kept": kept,
            "errors_page": errors_page,
            "page": errors_page,
            "upload_token": new_upload_token(),
            # A period filed again says why (issue 18 item 4).
            "correction": correction_context(operator_id=kept.operator_id, resubmission=_resubmission(kept)),
        },
    )


@login_required
@require_POST
def check_submit(request, token: str):
    """File the kept file as checked; only a file that passed its check is offered and accepted here."""
    kept = _kept_or_404(request, token)
    if kept.status != "valid":
        messages.error(request, _("Файл не прошёл проверку; исправьте его и проверьте снова."))
        return redirect("filings:check", token=kept.token)
    name = kept.original_name
    correction = None
    if _resubmission(kept):
        try:
            correction = correction_from_post(request.POST, operator_id=kept.operator_id)
        except ValueError:
            messages.error(request, _("За этот период отчёт уже подан: укажите причину повторной подачи"))
            return redirect("filings:check", token=kept.token)
    result = kept_upload_submit(
        kept=kept, user=request.user, upload_token=request.POST.get("upload_token", "")[:64], correction=correction
    )
    if result.filing is None:
        messages.error(request, _("Файл «%(name)s» не подан.") % {"name": name})
        return redirect("filings:list")
    if result.existing:
        messages.info(request, _("Этот файл уже подан: отчёт №%(n)s.") % {"n": result.filing.pk})
    else:
        messages.success(request, _("Файл «%(name)s» подан: отчёт №%(n)s.") % {"name": name, "n": result.filing.pk})
    return redirect("filings:detail", pk=result.filing.pk)


@login_required
@require_GET
def check_report(request, token: str, fmt: str):
    """A dry run's full error report in the filer's own columns plus `errors`; files nothing, is audit-logged."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    kept = _kept_or_404(request, token)
    header, rows, _info = report_rows(errors=kept_errors(kept), path=kept.file.path if kept.file else None)
    rows = list(rows)
    audit_event_record(
        actor=request.user,
        action="export.dry_run_errors",
        obj=kept.operator,
        ip=request.META.get("REMOTE_ADDR"),
        details={"file": kept.original_name, "kind": kept.kind, "format": fmt, "rows": len(rows)},
    )
    name = f"check_{kept.operator.unp}_{kept.kind}_{kept.period_start:%Y-%m-%d}"
    return export_response(headers=header, rows=rows, fmt=fmt, filename=name, sheet=_("Ошибки проверки"))


@login_required
@require_GET
def file_template(request, kind: str, fmt: str):
    """An empty template of a filing kind: exactly the columns the intake checks (filings.validate.COLUMNS)."""
    if kind not in COLUMNS or fmt not in ("csv", "xlsx"):
        raise Http404
    columns = list(COLUMNS[kind])
    if fmt == "csv":
        response = HttpResponse(
            ("\ufeff" + ",".join(columns) + "\r\n").encode(), content_type="text/csv; charset=utf-8"
        )
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = kind
        sheet.append(columns)
        sheet.freeze_panes = "A2"
        out = io.BytesIO()
        workbook.save(out)
        response = HttpResponse(
            out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="template_{kind}.{fmt}"'
    return response


def _poll(view):
    """A status request neither writes nor extends the session: polled every second, it is not the
    user's activity, and on the embedded default the import holds SQLite's write lock meanwhile."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        del request.session  # SessionMiddleware leaves a request without a session unsaved
        return response

    return wrapped


PHASES = {
    SENDING: gettext_lazy("Файл передаётся на сервер"),
    QUEUED: gettext_lazy("Отчёт ждёт обработки"),
    "reading": gettext_lazy("Чтение файла"),
    "rows": gettext_lazy("Проверка строк"),
    "saving": gettext_lazy("Сохранение результата"),
    DONE: gettext_lazy("Обработка завершена"),
}
IMPORTING = gettext_lazy("Проверка и загрузка строк")


def _payload(data: dict, *, importing: bool = False, **extra) -> JsonResponse:
    """``importing``: a filing's processing, whose rows phase also loads the rows (a dry run only checks)."""
    phase = data.get("phase", SENDING)
    read, total = int(data.get("rows_read") or 0), data.get("rows_total")
    percent = 100 if phase == DONE else (min(100, read * 100 // total) if total else None)
    label = str(IMPORTING if importing and phase == "rows" else PHASES.get(phase, PHASES[SENDING]))
    if total:
        label += ": " + _("%(read)s из %(total)s строк") % {
            "read": number_format(read, force_grouping=True),
            "total": number_format(total, force_grouping=True),
        }
    elif read:
        label += ": " + _("%(read)s строк") % {"read": number_format(read, force_grouping=True)}
    body = {"phase": phase, "rows_read": read, "rows_total": total, "percent": percent, "label": label}
    body.update(extra)
    body["done"] = phase == DONE
    return JsonResponse(body)


def _filing_payload(filing: RegistrationFiling) -> JsonResponse:
    url = reverse("filings:detail", args=[filing.pk])
    if filing.status in FINAL:
        done = {"phase": DONE, "rows_read": filing.rows_total, "rows_total": filing.rows_total}
        return _payload(done, status=filing.status, filing=filing.pk, url=url)
    data = progress_get(key=filing_key(filing.pk)) or {"phase": QUEUED}
    return _payload(data, importing=True, status=filing.status, filing=filing.pk, url=url)


@login_required
@require_GET
@_poll
def filing_progress(request, pk: int):
    """A stored filing's processing: phase, rows read of rows total; its operator's staff and the SCC."""
    filing = get_object_or_404(filings_visible(access=access_of(request)), pk=pk)
    return _filing_payload(filing)


@login_required
@require_GET
@_poll
def upload_progress(request, token: str):
    """One upload form's request (its token): the dry run's progress, or the filing it became."""
    data = progress_get(key=upload_key(token[:TOKEN_MAX]))
    if data is None:
        return _payload({"phase": SENDING})
    if data.get("user") != request.user.pk:
        request.refusal_reason = "another user's upload"
        raise Http404
    if data.get("filing"):
        filing = filings_visible(access=access_of(request)).filter(pk=data["filing"]).first()
        if filing is not None:
            return _filing_payload(filing)
    return _payload(data)

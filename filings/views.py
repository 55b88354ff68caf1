"""Operator filing pages (issue 3): upload with a dry run, my filings, the error table and report.

Who may use them: operator staff for their own operators (upload, read);
auditors and supervisors read every filing. Another operator's filing, or an
upload for an operator the user does not act for, is a 404.
"""

import csv
import io
from decimal import Decimal
from pathlib import Path

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from auditlog.services import audit_event_record
from config.spreadsheets import safe_cell
from filings import hooks
from filings.corrections import Correction, data_request_choices, period_latest
from filings.kept import kept_upload_check, new_upload_token
from filings.models import CorrectionCategory
from filings.report import report_rows
from filings.selectors import filings_visible
from filings.services import filing_submit
from operators.access import access_of
from operators.models import FilingKind, FilingStatus, Operator
from operators.tabular.errors import RowError

ERRORS_PER_PAGE = 100


class FilingUploadForm(forms.Form):
    operator = forms.ModelChoiceField(queryset=Operator.objects.none(), label=_("Оператор"))
    kind = forms.ChoiceField(choices=FilingKind.choices, label=_("Вид отчёта"))
    period_start = forms.DateField(label=_("Начало периода"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Конец периода"), widget=forms.DateInput(attrs={"type": "date"}))
    declared_rows = forms.IntegerField(label=_("Заявлено строк"), required=False, min_value=0)
    declared_out_byn = forms.DecimalField(
        label=_("Заявлено: вывод за рубеж, BYN"), required=False, min_value=Decimal(0), max_digits=18, decimal_places=2
    )
    declared_in_byn = forms.DecimalField(
        label=_("Заявлено: возврат, BYN"), required=False, min_value=Decimal(0), max_digits=18, decimal_places=2
    )
    file = forms.FileField(label=_("Файл (CSV или XLSX)"))
    # A period filed again says why (issue 18 item 4; filings.corrections).
    correction_category = forms.ChoiceField(
        label=_("Причина повторной подачи"),
        required=False,
        choices=[("", _("— первая подача за период —")), *CorrectionCategory.choices],
    )
    correction_reason = forms.CharField(
        label=_("Пояснение к исправлению"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    data_request = forms.TypedChoiceField(
        label=_("По запросу КГК"), required=False, coerce=int, empty_value=None, choices=[("", "—")]
    )

    def __init__(self, *args, operator_ids: list[int], submitting: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.submitting = submitting
        self.fields["operator"].queryset = Operator.objects.filter(pk__in=operator_ids).order_by("name")
        if len(operator_ids) == 1:
            self.fields["operator"].initial = operator_ids[0]
        requests = [c for pk in operator_ids for c in data_request_choices(operator_id=pk)]
        self.fields["data_request"].choices = [("", "—"), *requests]
        if not requests:
            self.fields["data_request"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            self.add_error("period_end", _("Конец периода раньше начала"))
        if data.get("data_request") and data.get("operator"):
            own = {pk for pk, _label in data_request_choices(operator_id=data["operator"].pk)}
            if data["data_request"] not in own:
                self.add_error("data_request", _("Это запрос другого оператора"))
        if self.submitting and not self.errors and self._resubmission(data):
            if not data.get("correction_category"):
                self.add_error(
                    "correction_category", _("За этот период отчёт уже подан: укажите причину повторной подачи")
                )
            if not (data.get("correction_reason") or "").strip():
                self.add_error("correction_reason", _("Поясните, что исправлено"))
        return data

    @staticmethod
    def _resubmission(data) -> bool:
        return (
            period_latest(
                operator=data["operator"],
                kind=data["kind"],
                period_start=data["period_start"],
                period_end=data["period_end"],
            )
            is not None
        )

    def correction(self) -> Correction | None:
        data = self.cleaned_data
        if not data.get("correction_category") or not (data.get("correction_reason") or "").strip():
            return None
        return Correction(data["correction_category"], data["correction_reason"], data.get("data_request"))


def _filings_for(request):
    return filings_visible(access=access_of(request))


@login_required
@require_http_methods(["GET", "POST"])
def filing_list(request):
    """My filings (all filings for the SCC) and, for operator staff, the upload form with its dry run."""
    own_ids = list(access_of(request).operator_ids)
    result = None
    form = FilingUploadForm(operator_ids=own_ids) if own_ids else None
    if request.method == "POST":
        if not own_ids:
            raise Http404
        # An operator the user does not act for answers 404, as if it did not exist.
        try:
            posted_operator = int(request.POST.get("operator", ""))
        except ValueError:
            posted_operator = None
        if posted_operator is not None and posted_operator not in own_ids:
            raise Http404
        form = FilingUploadForm(
            request.POST, request.FILES, operator_ids=own_ids, submitting=request.POST.get("action") != "dry_run"
        )
        if form.is_valid():
            data = form.cleaned_data
            dry_run = request.POST.get("action") == "dry_run"
            # The form's token names this request's progress (static/js/upload.js polls it).
            upload_token = request.POST.get("upload_token", "")[:64] or new_upload_token()
            if dry_run:
                # The file is kept for a while, so that "Submit this file" follows its result page.
                kept = kept_upload_check(
                    operator=data["operator"],
                    kind=data["kind"],
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    uploaded_file=data["file"],
                    user=request.user,
                    progress_token=upload_token,
                    declared_rows=data["declared_rows"],
                    declared_out_byn=data["declared_out_byn"],
                    declared_in_byn=data["declared_in_byn"],
                )
                return redirect("filings:check", token=kept.token)
            result = filing_submit(
                operator=data["operator"],
                kind=data["kind"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                uploaded_file=data["file"],
                user=request.user,
                declared_rows=data["declared_rows"],
                declared_out_byn=data["declared_out_byn"],
                declared_in_byn=data["declared_in_byn"],
                upload_token=upload_token,
                correction=form.correction(),
            )
            if result.filing is not None:
                return redirect("filings:detail", pk=result.filing.pk)
    filings = _filings_for(request)
    status = request.GET.get("status", "")[:16]
    kind = request.GET.get("kind", "")[:32]
    if status:
        filings = filings.filter(status=status)
    if kind:
        filings = filings.filter(kind=kind)
    # ?id=1,2,3: exactly the filings a flag's evidence names (audits.rules.base.filing_rows).
    ids = [int(pk) for pk in request.GET.get("id", "")[:1000].split(",") if pk.strip().isdigit()]
    if ids:
        filings = filings.filter(pk__in=ids)
    page = Paginator(filings.order_by("-submitted_at", "-pk"), 50).get_page(request.GET.get("page"))
    calendar, confirmed_flags = _operator_desk(access_of(request), own_ids)
    if form is not None and not form.is_bound:
        form.initial.update(_due_next(calendar))
    errors_page = None
    if result is not None:
        errors_page = Paginator(result.errors, ERRORS_PER_PAGE).get_page(1)
    return render(
        request,
        "filings/filing_list.html",
        {
            "form": form,
            "page": page,
            "result": result,
            "errors_page": errors_page,
            "statuses": FilingStatus.choices,
            "kinds": FilingKind.choices,
            "is_auditor": access_of(request).is_auditor,
            "calendar": calendar,
            "confirmed_flags": confirmed_flags,
            "upload_token": new_upload_token(),
        },
    )


def _due_next(calendar: list) -> dict:
    """The form's defaults: the period the operator is due to file next (the oldest missed one, else
    the nearest due), from the desk's calendar; a transfer register when nothing is owed."""
    owed = sorted(calendar, key=lambda pair: (pair[1].state != "missing", pair[1].due_date))
    if not owed:
        return {"kind": FilingKind.TRANSFER_REGISTER}
    operator, row = owed[0]
    return {"operator": operator.pk, "kind": row.kind, "period_start": row.period_start, "period_end": row.period_end}


def _operator_desk(access, own_ids: list[int]) -> tuple[list, list]:
    """For operator staff: periods due soon or missed, and confirmed flags awaiting an answer.

    Both come from the audits app through filings.hooks.operator_desk (audits/filing_hooks.py).
    """
    if not own_ids or access.is_auditor or not hooks.operator_desk:
        return [], []
    return hooks.operator_desk[0](access=access, operator_ids=own_ids)


ERROR_SORTS = {"row": ("row", "id"), "column": ("column", "row", "id"), "code": ("code", "row", "id")}


@login_required
def filing_detail(request, pk: int):
    filing = get_object_or_404(_filings_for(request), pk=pk)
    # Sorted by spreadsheet row by default; by column or error code on request (whitelisted).
    sort = request.GET.get("sort", "row")
    order = ERROR_SORTS.get(sort, ERROR_SORTS["row"])
    errors_page = Paginator(filing.errors.order_by(*order), ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "filings/filing_detail.html",
        {
            "filing": filing,
            "errors_page": errors_page,
            "page": errors_page,
            "pending": filing.status in (FilingStatus.RECEIVED, FilingStatus.PROCESSING),
        },
    )


def _safe_rows(header: list[str], rows, counter: list[int]):
    """Every cell through the one formula-escaping helper (config.spreadsheets.safe_cell); counts the rows."""
    yield [safe_cell(h) for h in header]
    for row in rows:
        counter[0] += 1
        yield [safe_cell(c) for c in row]


@login_required
def filing_error_report(request, pk: int, fmt: str):
    """The error report as CSV (the operator's own encoding and delimiter) or XLSX; one export.filing_errors event."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    filing = get_object_or_404(_filings_for(request), pk=pk)
    errors = (RowError(e.row, e.column, e.value, e.code) for e in filing.errors.all().iterator(chunk_size=5000))
    header, rows, info = report_rows(errors=errors, path=Path(filing.file.path) if filing.file else None)
    name = f"errors_{filing.operator.unp}_{filing.kind}_{filing.period_start:%Y-%m-%d}"
    written = [0]
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("errors")
        for row in _safe_rows(header, rows, written):
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(
            out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    else:
        text = io.StringIO()
        csv.writer(text, delimiter=info["delimiter"], lineterminator="\r\n").writerows(
            _safe_rows(header, rows, written)
        )
        # The bytes in the filer's own encoding (UTF-8 with a BOM, or Windows-1251); the header names
        # it by its registered label ("utf-8-sig" is Python's codec name, not a charset).
        utf8 = info["encoding"].startswith("utf-8")
        encoding, label = ("utf-8-sig", "utf-8") if utf8 else (info["encoding"], "windows-1251")
        response = HttpResponse(
            text.getvalue().encode(encoding, errors="replace"), content_type=f"text/csv; charset={label}"
        )
    audit_event_record(
        actor=request.user,
        action="export.filing_errors",
        obj=filing,
        ip=request.META.get("REMOTE_ADDR"),
        details={"filing": filing.pk, "format": fmt, "rows": written[0]},
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response

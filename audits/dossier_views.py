"""The operator dossier (registry data, filing timeline, flags, risk, outflow) and its export.

A page above the audits app: it shows flags and outflow figures beside the registry data, so
it lives here, not in operators (which may not import audits). Mounted by audits/operator_urls.py
under the `operators:` names it always had.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from auditlog.services import audit_event_record
from audits import ui_selectors
from config.spreadsheets import export_response
from operators import selectors
from operators.access import access_of
from operators.models import Operator


def _dossier_context(request, operator: Operator) -> dict:
    access = access_of(request)
    auditor = access.is_auditor
    outflow = ui_selectors.operator_outflow(operator=operator)
    return {
        "operator": operator,
        "status_changes": operator.status_changes.select_related("changed_by")[:50],
        "today": timezone.localdate(),
        "timeline": ui_selectors.filing_timeline(operator=operator),
        "flags": ui_selectors.operator_flags(operator=operator, access=access),
        "answers": ui_selectors.operator_answers(operator=operator) if auditor else [],
        "risk": getattr(operator, "risk", None) if auditor else None,
        "outflow": outflow,
        "chart": {
            "trend": [
                {"cohort": s.cohort, "share": float(s.non_return_share) if s.non_return_share is not None else None}
                for s in outflow["by_cohort"]
            ]
        },
    }


@login_required
def operator_detail(request, pk: int):
    """The operator dossier. Auditors: any operator, everything. Operator staff: their own only
    (others answer 404), with confirmed flags only."""
    try:
        operator = selectors.operator_get(access=access_of(request), pk=pk)
    except Operator.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "operators/operator_detail.html", _dossier_context(request, operator))


@login_required
def operator_dossier_export(request, pk: int, fmt: str):
    """Auditors and supervisors: the dossier (registry data, timeline, flags) as CSV/XLSX; logged."""
    access_of(request).require_auditor()
    try:
        operator = selectors.operator_get(access=access_of(request), pk=pk)
    except Operator.DoesNotExist as exc:
        raise Http404 from exc
    context = _dossier_context(request, operator)
    rows = [
        ["registry", field, str(getattr(operator, field))]
        for field in (
            "unp",
            "name",
            "activity",
            "status",
            "htp_certificate_no",
            "htp_certificate_valid_until",
            "legal_address",
        )
    ]
    rows += [
        ["filing", f"{t.kind} {t.period_start}..{t.period_end}", f"{t.state}; due {t.due_date}"]
        for t in context["timeline"]
    ]
    rows += [["flag", f"{f.rule.code} #{f.pk}", f"{f.status}; {f.subject}"] for f in context["flags"]]
    total = context["outflow"]["total"]
    if total is not None:
        rows.append(["non_return_share", "all", str(total.non_return_share)])
    audit_event_record(
        actor=request.user,
        action="export.dossier",
        obj=operator,
        ip=request.META.get("REMOTE_ADDR"),
        details={"format": fmt, "rows": len(rows)},
    )
    return export_response(headers=["section", "item", "value"], rows=rows, fmt=fmt, filename=f"dossier-{operator.unp}")

"""Referring an operator from its dossier (issue 18 item 5) and downloading its latest package.

Both: SCC auditors and supervisors only (operators.access: `is_auditor`); operator staff and anyone else
404, anonymous users the login page. Each download is a `referral.download` audit event.
"""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from auditlog.services import audit_event_record
from operators.access import access_of
from operators.models import Operator

from .referrals.download import package_response
from .referrals.operator_services import OperatorReferralError, operator_package_latest, operator_refer
from .referrals.services import ReferralNotReady


def _scc_operator(request, operator_pk: int) -> Operator:
    if not access_of(request).is_auditor:
        request.refusal_reason = "operator referral: SCC only"
        raise Http404
    return get_object_or_404(Operator, pk=operator_pk)


@login_required
@require_POST
def operator_refer_view(request, operator_pk: int):
    operator = _scc_operator(request, operator_pk)
    dossier = reverse("operators:detail", args=[operator.pk])
    try:
        package = operator_refer(
            operator=operator,
            agency=request.POST.get("agency", ""),
            actor=request.user,
            reason=request.POST.get("reason", ""),
            ip=request.META.get("REMOTE_ADDR"),
        )
    except PermissionDenied as exc:
        raise Http404 from exc
    except ReferralNotReady:
        flash.error(request, _("Оператор не передан: у него нет подтверждённых или переданных нарушений."))
        return redirect(dossier)
    except OperatorReferralError as exc:
        why = _("укажите основание") if exc.code == "reason_required" else _("выберите орган")
        flash.error(request, _("Оператор не передан: %(why)s.") % {"why": why})
        return redirect(dossier)
    flash.success(request, _("Материалы по оператору переданы; пакет SHA-256 %(sha)s.") % {"sha": package.sha256[:16]})
    return redirect(dossier)


@login_required
@require_GET
def operator_package_download(request, operator_pk: int):
    operator = _scc_operator(request, operator_pk)
    package = operator_package_latest(operator=operator)
    if package is None:
        raise Http404
    audit_event_record(
        actor=request.user,
        action="referral.download",
        obj=package,
        ip=request.META.get("REMOTE_ADDR"),
        details={"operator": operator.pk, "package_sha256": package.sha256, "via": "page"},
    )
    return package_response(package)

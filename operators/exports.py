"""Export of the registry page (the operator list) with its filters, CSV or XLSX.

Auditors and supervisors: the whole registry; operator staff: only their own operator (the same
operators.selectors.operator_list the page uses, through Access.operators). Written by
auditlog.exports.export_download: one audit event per download, a cap on the rows.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from auditlog.exports import export_download
from config.exports import Column
from operators import selectors, views
from operators.access import access_of
from operators.models import Operator

REGISTRY_COLUMNS = (
    Column(_("УНП"), width=12),
    Column(_("Наименование"), width=40),
    Column(_("Вид деятельности"), width=28),
    Column(_("Статус"), width=14),
    Column(_("№ свидетельства ПВТ"), width=18),
    Column(_("Свидетельство действует до"), width=14),
    Column(_("Дата регистрации в ПВТ"), width=14),
    Column(_("Юридический адрес"), width=50),
)


def _registry_row(op: Operator) -> tuple:
    return (
        op.unp,
        op.name,
        op.get_activity_display(),
        op.get_status_display(),
        op.htp_certificate_no,
        op.htp_certificate_valid_until,
        op.htp_registered_on,
        op.legal_address,
    )


@login_required
def registry_export(request, fmt: str):
    """Auditors and supervisors: the registry with the page's filters; operator staff: their own operator.
    Anyone else: 403. CSV/XLSX; logged."""
    access = access_of(request)
    if not (access.is_auditor or access.is_operator_staff):
        raise PermissionDenied
    query = views.operator_list_query(request)
    operators = selectors.operator_list(access=access, **query)
    here = request.GET.urlencode()
    return export_download(
        request,
        fmt=fmt,
        action="export.registry",
        columns=REGISTRY_COLUMNS,
        source=operators,
        row=_registry_row,
        filename=f"registry-{timezone.localdate():%Y-%m-%d}",
        sheet=_("Реестр операторов"),
        filters=query,
        back=reverse("operators:list") + (f"?{here}" if here else ""),
    )

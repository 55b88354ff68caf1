"""The screening review page (issue 19 item 2): list hits, confirm or dismiss them.

Who: SCC auditors and supervisors only (operators.access: require_auditor). Operator staff, agencies
and strangers are refused with 403; operators never see screening. No four-eyes: one reviewer decides.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from operators.access import access_of
from screening import selectors
from screening.models import Hit, HitStatus
from screening.services import hit_decide


@login_required
@require_GET
def review_list(request):
    """GET ?status=open|confirmed|dismissed|all: the hits of the lists in force, best score first."""
    access_of(request).require_auditor()
    status = request.GET.get("status", HitStatus.OPEN)
    return render(
        request,
        "screening/review.html",
        {
            "hits": selectors.hits(status=status)[:500],
            "status": status,
            "statuses": [("all", _("Все")), *HitStatus.choices],
            "lists": selectors.versions_in_force(),
            "sanctioned": selectors.sanctioned_platforms(),
        },
    )


@login_required
@require_POST
def hit_decision(request, pk: int):
    """POST decision=confirmed|dismissed, reason, listed_on (YYYY-MM-DD, for a platform): one decision."""
    access = access_of(request)
    access.require_auditor()
    hit = get_object_or_404(Hit, pk=pk)
    listed_on = None
    if request.POST.get("listed_on"):
        try:
            listed_on = date.fromisoformat(request.POST["listed_on"])
        except ValueError:
            messages.error(request, _("Дата включения в список: укажите дату в формате ГГГГ-ММ-ДД."))
            return redirect("screening:review")
    try:
        hit_decide(
            hit=hit,
            access=access,
            actor=request.user,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
            listed_on=listed_on,
            ip=request.META.get("REMOTE_ADDR", ""),
        )
    except ValidationError as exc:
        fields = getattr(exc, "error_dict", {})
        if "reason" in fields:
            messages.error(request, _("Укажите основание: почему совпадение ложное."))
        elif "listed_on" in fields:
            messages.error(request, _("Укажите дату включения платформы в список."))
        else:
            messages.error(request, _("Неизвестное решение."))
        return redirect("screening:review")
    messages.success(request, _("Решение по совпадению сохранено."))
    return redirect("screening:review")

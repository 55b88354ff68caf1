"""Flag pages. Auditors see and review every flag; operator staff see their own operator's
confirmed flags and answer them; anyone else gets 404 (existence is not revealed)."""

import logging

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from auditlog.services import audit_event_record
from audits import notifications, selectors, services
from audits.models import Agency, Flag, FlagStatus, Rule
from audits.review_errors import review_error_message
from audits.tasks import scan_violations
from config.params import id_param
from operators.access import access_of

logger = logging.getLogger(__name__)


def _ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _refused(request, reason: str) -> Http404:
    """Answer 404 to an authenticated user's refusal; auditlog.middleware.RefusalAuditMiddleware
    records it (one event per refusal, DESIGN section 7) with this reason."""
    request.refusal_reason = reason
    return Http404()


FLAG_LIST_PARAMETERS = ("status", "rule", "q", "mine", "severity", "assignee", "due")


def flag_list_query(request) -> dict:
    """The flag list's filters from the query string as selectors.flag_list keywords: one reading for the
    page and its export (audits/exports.py), so the export holds exactly the page's selection."""
    return {
        "status": request.GET.get("status", "")[:16],
        "rule": request.GET.get("rule", "")[:64],
        "operator": request.GET.get("q", "")[:100],
        "assignee": request.user if request.GET.get("mine") == "1" or request.GET.get("assignee") == "me" else None,
        "severity": request.GET.get("severity", "")[:16],
        # The queue's filters (assignee "none" or an id, deadline), so its counts lead to exactly these flags.
        "unassigned": request.GET.get("assignee") == "none",
        "assignee_id": id_param(request.GET.get("assignee")),
        "due": request.GET.get("due", "")[:8],
    }


@login_required
def flag_list(request):
    """Auditors: the review queue, riskiest operators first. Operator staff: their confirmed flags."""
    if request.method == "POST":
        if not access_of(request).can_review:
            raise PermissionDenied
        audit_event_record(actor=request.user, action="scan.requested", ip=_ip(request))
        scan_violations.delay_on_commit(request.user.pk)
        messages.info(request, _("Проверка запущена; обновите страницу через несколько минут."))
        return redirect("audits:flag_list")
    access = access_of(request)
    flags = selectors.flag_list(access=access, **flag_list_query(request))
    page = Paginator(flags, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/flag_list.html",
        {
            "page": page,
            "auditor": access.is_auditor,
            "statuses": FlagStatus.choices,
            "rules": Rule.objects.values_list("code", flat=True) if access.is_auditor else [],
        },
    )


def _flag_or_404(request, pk: int) -> Flag:
    try:
        return selectors.flag_get(access=access_of(request), pk=pk)
    except Flag.DoesNotExist:
        raise _refused(request, "flag not visible") from None


@login_required
def flag_detail(request, pk: int):
    """GET: evidence, notes/answers, history and the actions the user may take. POST: one action."""
    flag = _flag_or_404(request, pk)
    auditor = access_of(request).is_auditor
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            done = _apply(request, flag, action)
        except ValidationError as exc:
            messages.error(request, review_error_message(exc))
        except PermissionDenied:
            raise
        else:
            messages.success(request, done)
        return redirect("audits:flag_detail", pk=flag.pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    context = {
        "flag": flag,
        "auditor": auditor,
        "notes": selectors.flag_notes(flag=flag, access=access_of(request)),
        "history": selectors.flag_history(flag=flag) if auditor else [],
        "risk": selectors.operator_risk_get(operator_id=flag.operator_id) if auditor else None,
        "agencies": Agency.choices,
        "auditors": get_user_model().objects.filter(groups__name__in=["auditors", "supervisors"]).distinct()
        if auditor
        else [],
        "allowed": {action for action, sources in services.TRANSITIONS.items() if flag.status in sources},
        "four_eyes": auditor and services.four_eyes_required(flag=flag),
        "today": timezone.localdate(),
        "proposal": notifications.flag_proposal_pending(flag=flag) if auditor else None,
        "proposals": notifications.flag_proposals(flag=flag) if auditor else [],
    }
    return render(request, "audits/flag_detail.html", context)


def _apply(request, flag: Flag, action: str) -> str:
    """Carry out one action; returns the confirmation saying what was done, to whom."""
    post, user, ip = request.POST, request.user, _ip(request)
    n = flag.pk
    if action == "answer":
        services.flag_answer(
            flag=flag, user=user, text=post.get("text", ""), attachment=request.FILES.get("file"), ip=ip
        )
        return _("Ответ по нарушению №%(n)s отправлен в КГК.") % {"n": n}
    if action == "take":
        services.flag_take(flag=flag, actor=user, ip=ip)
        return _("Нарушение №%(n)s взято вами в работу.") % {"n": n}
    if action == "assign":
        assignee = get_user_model().objects.filter(pk=post.get("assignee") or 0).first()
        if assignee is None:
            raise ValidationError(_("Выберите аудитора."))
        services.flag_assign(flag=flag, actor=user, assignee=assignee, ip=ip)
        who = assignee.get_full_name() or assignee.get_username()
        return _("Нарушение №%(n)s назначено: %(who)s.") % {"n": n, "who": who}
    if action == "note":
        services.flag_note_add(flag=flag, actor=user, text=post.get("text", ""), ip=ip)
        return _("Заметка к нарушению №%(n)s добавлена.") % {"n": n}
    if action in ("confirm", "dismiss", "refer") and services.four_eyes_required(flag=flag):
        # High and critical: the decision is proposed; a second auditor approves it (four eyes).
        services.flag_propose(
            flag=flag, actor=user, action=action, reason=post.get("text", ""), agency=post.get("agency", ""), ip=ip
        )
        return _("Решение по нарушению №%(n)s предложено; его утвердит второй аудитор.") % {"n": n}
    if action in ("approve", "return"):
        proposal = notifications.flag_proposal_pending(flag=flag)
        if proposal is None or str(proposal.pk) != post.get("proposal", ""):
            raise ValidationError(_("Это предложение уже рассмотрено."))
        if action == "return":
            services.proposal_return(proposal=proposal, actor=user, reason=post.get("text", ""), ip=ip)
            return _("Предложение по нарушению №%(n)s возвращено автору.") % {"n": n}
        services.proposal_approve(proposal=proposal, actor=user, note=post.get("text", ""), ip=ip)
        return _("Решение по нарушению №%(n)s утверждено и применено.") % {"n": n}
    if action == "confirm":
        services.flag_confirm(flag=flag, actor=user, note=post.get("text", ""), ip=ip)
        return _("Нарушение №%(n)s подтверждено; оператор увидит его и сможет ответить.") % {"n": n}
    if action == "dismiss":
        services.flag_dismiss(flag=flag, actor=user, reason=post.get("text", ""), ip=ip)
        return _("Нарушение №%(n)s снято с указанным основанием.") % {"n": n}
    if action == "refer":
        agency = post.get("agency", "")
        services.flag_refer(flag=flag, actor=user, agency=agency, reason=post.get("text", ""), ip=ip)
        return _("Нарушение №%(n)s передано: %(agency)s.") % {"n": n, "agency": Agency(agency).label}
    if action == "reopen":
        services.flag_reopen(flag=flag, actor=user, reason=post.get("text", ""), ip=ip)
        return _("Нарушение №%(n)s открыто повторно.") % {"n": n}
    raise ValidationError(_("Неизвестное действие."))


@login_required
def answer_attachment(request, pk: int, note_pk: int):
    """The attachment of an operator's answer: to auditors and to that operator's staff only."""
    flag = _flag_or_404(request, pk)
    note = selectors.flag_notes(flag=flag, access=access_of(request)).filter(pk=note_pk).exclude(attachment="").first()
    if note is None:
        raise _refused(request, "attachment not visible")
    return FileResponse(note.attachment.open("rb"), as_attachment=True, filename=note.attachment_name or "attachment")

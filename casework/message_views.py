"""The operators' threads (issue 18 item 3).

Who may use them (operators.access, casework.messaging.may_read): the SCC (auditors, supervisors) every
thread, closing data requests and broadcasting notices; an operator's staff only their own operators'
threads (another operator's thread, request or attachment is a 404, as if it did not exist); anyone else
404; anonymous users the login page.
"""

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _now
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from auditlog.services import audit_event_record
from audits.models import Flag
from casework import messaging
from casework.models import DataRequest, MessageCategory
from config.params import id_param
from operators.access import access_of
from operators.models import Activity, RegistrationFiling


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class MessageForm(forms.Form):
    category = forms.ChoiceField(label=_("Категория"), choices=MessageCategory.choices)
    subject = forms.CharField(label=_("Тема запроса"), required=False, max_length=255)
    due_date = forms.DateField(label=_("Срок ответа"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    request = forms.TypedChoiceField(label=_("Ответ на запрос"), required=False, coerce=int, empty_value=None)
    text = forms.CharField(label=_("Сообщение"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)
    flag = forms.IntegerField(label=_("Нарушение №"), required=False, min_value=1)
    filing = forms.IntegerField(label=_("Отчёт №"), required=False, min_value=1)
    attachments = MultipleFileField(label=_("Вложения (до 5 файлов по 10 МБ)"), required=False)

    def __init__(self, *args, scc: bool, waiting: list[DataRequest], **kwargs):
        super().__init__(*args, **kwargs)
        if not scc:
            self.fields["category"].choices = [(c, MessageCategory(c).label) for c in messaging.STAFF_CATEGORIES]
            del self.fields["subject"], self.fields["due_date"]
        self.fields["request"].choices = [("", "—"), *((r.pk, f"№{r.pk}: {r.subject}") for r in waiting)]
        if scc or not waiting:
            del self.fields["request"]

    def clean(self):
        data = super().clean()
        if "due_date" in self.fields and data.get("category") == MessageCategory.DATA_REQUEST:
            if data.get("due_date") is None:
                self.add_error("due_date", _("Укажите срок ответа на запрос"))
            elif data["due_date"] < timezone.localdate():
                self.add_error("due_date", _("Срок ответа уже прошёл"))
        return data


def _thread_operator(request, operator_pk: int):
    access = access_of(request)
    operator = messaging.threads_visible(access=access).filter(pk=operator_pk).first()
    if operator is None:
        request.refusal_reason = "thread not visible"
        raise Http404
    return access, operator


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


@login_required
@require_GET
def thread_list(request):
    """The SCC: every operator's thread with its latest message and waiting requests; staff: their own."""
    access = access_of(request)
    operators = messaging.threads_visible(access=access)
    if access.is_operator_staff and len(access.operator_ids) == 1:
        return redirect("casework:thread", operator_pk=access.operator_ids[0])
    if not access.is_auditor and not access.is_operator_staff:
        raise Http404
    rows = messaging.thread_rows(operators=operators, user=request.user, access=access)
    return render(request, "casework/threads.html", {"rows": rows, "scc": access.is_auditor})


@login_required
@require_http_methods(["GET", "POST"])
def thread(request, operator_pk: int):
    access, operator = _thread_operator(request, operator_pk)
    requests = messaging.requests_of(operator=operator)
    waiting = [r for r in requests if r.status in messaging.WAITING]
    # A link from a flag or a filing page (?flag=, ?filing=) starts a message about it.
    linked = {k: request.GET[k] for k in ("flag", "filing") if id_param(request.GET.get(k)) is not None}
    form = MessageForm(scc=access.is_auditor, waiting=waiting, initial=linked)
    if request.method == "POST":
        form = MessageForm(request.POST, request.FILES, scc=access.is_auditor, waiting=waiting)
        if form.is_valid():
            data = form.cleaned_data
            try:
                message = messaging.message_post(
                    operator=operator,
                    author=request.user,
                    text=data["text"],
                    category=data["category"],
                    attachments=data["attachments"],
                    flag=Flag.objects.filter(pk=data["flag"]).first() if data.get("flag") else None,
                    filing=RegistrationFiling.objects.filter(pk=data["filing"]).first() if data.get("filing") else None,
                    request=next((r for r in waiting if r.pk == data.get("request")), None),
                    due_date=data.get("due_date"),
                    subject=data.get("subject") or "",
                    ip=_ip(request),
                )
            except messaging.MessageError as exc:
                form.add_error(None, _now("Сообщение не отправлено: %(why)s") % {"why": "; ".join(exc.messages)})
            else:
                flash.success(request, _now("Сообщение отправлено."))
                return redirect(f"{request.path}#message-{message.pk}")
    messaging.thread_read(operator=operator, user=request.user)
    return render(
        request,
        "casework/thread.html",
        {
            "operator": operator,
            "thread": messaging.thread_messages(operator=operator),
            "requests": requests,
            "form": form,
            "scc": access.is_auditor,
        },
    )


@login_required
@require_POST
def request_close(request, pk: int):
    access = access_of(request)
    data_request = DataRequest.objects.filter(pk=pk).first()
    if data_request is None or not access.is_auditor:
        request.refusal_reason = "data request: SCC only"
        raise Http404
    messaging.data_request_close(request=data_request, actor=request.user, ip=_ip(request))
    flash.success(request, _now("Запрос №%(pk)s закрыт.") % {"pk": data_request.pk})
    return redirect("casework:thread", operator_pk=data_request.operator_id)


@login_required
@require_GET
def attachment_download(request, pk: int):
    attachment = messaging.attachment_visible(access=access_of(request), pk=pk)
    if attachment is None:
        request.refusal_reason = "attachment not visible"
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:
        raise Http404 from exc
    audit_event_record(
        actor=request.user,
        action="message.attachment_read",
        obj=attachment.message,
        ip=_ip(request),
        details={"attachment": attachment.pk, "sha256": attachment.sha256},
    )
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name)
    response["Cache-Control"] = "private, no-store"
    return response


class BroadcastForm(forms.Form):
    activity = forms.ChoiceField(
        label=_("Кому"), required=False, choices=[("", _("Всем действующим операторам")), *Activity.choices]
    )
    text = forms.CharField(label=_("Уведомление"), widget=forms.Textarea(attrs={"rows": 5}), max_length=10000)


@login_required
@require_http_methods(["GET", "POST"])
def broadcast(request):
    """The SCC: a notice to all operators or to those of one activity."""
    if not access_of(request).is_auditor:
        raise Http404
    form = BroadcastForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = messaging.broadcast_send(
                author=request.user,
                text=form.cleaned_data["text"],
                activity=form.cleaned_data["activity"],
                ip=_ip(request),
            )
        except PermissionDenied as exc:
            raise Http404 from exc
        flash.success(request, _now("Уведомление отправлено операторам: %(n)s.") % {"n": sent})
        return redirect("casework:threads")
    return render(request, "casework/broadcast.html", {"form": form})

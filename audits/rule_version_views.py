"""Rule versions' pages (issue 19 item 3): the rule catalogue with the version in force, and one rule's
history, draft, backtest and publication.

Who: auditors and supervisors read (Access.require_auditor); supervisors draft, backtest and publish
(Access.may("audits.change_rule"), the role table's right to edit rules); operator staff, agencies and
strangers are refused (403). The same supervisor may draft and publish (no four eyes asked).
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audits.models import Flag, Rule, RuleVersionStatus
from audits.rule_version_display import backtest_view, history_rows, param_rows
from audits.rule_version_forms import BacktestForm, DraftForm, PublishForm
from audits.services import versions as services
from audits.tasks import backtest_rule_version
from operators.access import access_of

EDIT_PERMISSION = "audits.change_rule"


def _flag_counts(rule: Rule) -> dict[int, int]:
    rows = Flag.objects.filter(rule=rule, rule_version__isnull=False).values("rule_version_id").annotate(n=Count("id"))
    return {row["rule_version_id"]: row["n"] for row in rows.order_by()}


def _rule(code: str) -> Rule:
    rule = Rule.objects.filter(code=code).first()
    if rule is None:
        raise Http404
    return rule


def _editor(request) -> None:
    access = access_of(request)
    access.require_auditor()
    if not access.may(EDIT_PERMISSION):
        raise PermissionDenied


@login_required
@require_GET
def rule_list(request):
    """Every rule with its version in force today, its draft if any and its next scheduled version."""
    access_of(request).require_auditor()
    services.versions_seed(actor=request.user)
    today = timezone.localdate()
    rules = list(Rule.objects.prefetch_related("versions"))
    rows = []
    for rule in rules:
        versions = list(rule.versions.all())
        live = services.version_live(rule=rule, on=today)
        rows.append(
            {
                "rule": rule,
                "live": live,
                "draft": next((v for v in versions if v.status == RuleVersionStatus.DRAFT), None),
                "scheduled": [v for v in versions if v.effective_from and v.effective_from > today and v != live],
                "params": param_rows(live.parameters if live else {}),
            }
        )
    return render(request, "audits/rule_list.html", {"rows": rows, "may_edit": access_of(request).may(EDIT_PERMISSION)})


@login_required
@require_GET
def rule_detail(request, code: str):
    """One rule: its versions (who, when, what changed, backtest), the draft with its backtest and forms."""
    access = access_of(request)
    access.require_auditor()
    rule = _rule(code)
    services.versions_seed(actor=request.user)
    today = timezone.localdate()
    versions = list(rule.versions.select_related("author", "published_by").order_by("number"))
    live = services.version_live(rule=rule, on=today)
    draft = next((v for v in versions if v.status == RuleVersionStatus.DRAFT), None)
    shown = draft or live
    may_edit = access.may(EDIT_PERMISSION)
    context = {
        "rule": rule,
        "live": live,
        "draft": draft,
        "history": history_rows(versions, live=live, flag_counts=_flag_counts(rule)),
        "backtest": backtest_view(rule, draft) if draft else None,
        "may_edit": may_edit,
    }
    if may_edit:
        base = shown if shown is not None else rule
        context["draft_form"] = DraftForm(
            base=base.parameters,
            initial={"enabled": base.enabled, "note": draft.note if draft else ""},
        )
        backtest_from = draft.backtest_from if draft and draft.backtest_from else today - timedelta(days=90)
        context["backtest_form"] = BacktestForm(
            initial={"date_from": backtest_from, "date_to": draft.backtest_to if draft and draft.backtest_to else today}
        )
        context["publish_form"] = PublishForm(initial={"effective_from": today})
    return render(request, "audits/rule_detail.html", context)


def _label(form, name: str) -> str:
    field = form.fields.get(name)
    return str(field.label) if field is not None else ""


def _fail(request, exc: ValidationError, code: str):
    messages.error(request, " ".join(exc.messages))
    return redirect("audits:rule_detail", code=code)


@login_required
@require_POST
def rule_draft(request, code: str):
    _editor(request)
    rule = _rule(code)
    services.versions_seed(actor=request.user)
    shown = rule.versions.filter(status=RuleVersionStatus.DRAFT).first() or services.version_live(rule=rule)
    form = DraftForm(request.POST, base=shown.parameters if shown else rule.parameters)
    if not form.is_valid():
        problems = [f"{_label(form, name)}: {' '.join(errors)}" for name, errors in form.errors.items()]
        messages.error(request, _("Проверьте поля формы.") + " " + "; ".join(problems))
        return redirect("audits:rule_detail", code=code)
    try:
        draft = services.version_draft(
            rule=rule,
            parameters=form.cleaned_data["parameters"],
            enabled=form.cleaned_data["enabled"],
            note=form.cleaned_data["note"],
            actor=request.user,
            ip=request.META.get("REMOTE_ADDR"),
        )
    except ValidationError as exc:
        return _fail(request, exc, code)
    messages.success(
        request, _("Черновик версии №%(n)d сохранён; он не действует, пока не опубликован.") % {"n": draft.number}
    )
    return redirect("audits:rule_detail", code=code)


def _draft(rule: Rule, number: int):
    version = rule.versions.filter(number=number).first()
    if version is None:
        raise Http404
    return version


@login_required
@require_POST
def rule_backtest(request, code: str, number: int):
    _editor(request)
    version = _draft(_rule(code), number)
    form = BacktestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Укажите период проверки."))
        return redirect("audits:rule_detail", code=code)
    try:
        services.version_backtest_request(
            version=version,
            date_from=form.cleaned_data["date_from"],
            date_to=form.cleaned_data["date_to"],
            actor=request.user,
            ip=request.META.get("REMOTE_ADDR"),
        )
    except ValidationError as exc:
        return _fail(request, exc, code)
    backtest_rule_version.delay_on_commit(version.pk, request.user.pk)
    messages.success(request, _("Проверка на истории поставлена в очередь; обновите страницу через минуту."))
    return redirect("audits:rule_detail", code=code)


@login_required
@require_POST
def rule_publish(request, code: str, number: int):
    _editor(request)
    version = _draft(_rule(code), number)
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Укажите дату начала действия."))
        return redirect("audits:rule_detail", code=code)
    try:
        services.version_publish(
            version=version,
            effective_from=form.cleaned_data["effective_from"],
            actor=request.user,
            ip=request.META.get("REMOTE_ADDR"),
        )
    except ValidationError as exc:
        return _fail(request, exc, code)
    messages.success(
        request,
        _("Версия №%(n)d опубликована и действует с %(date)s.")
        % {"n": version.number, "date": version.effective_from.strftime("%d.%m.%Y")},
    )
    return redirect("audits:rule_detail", code=code)

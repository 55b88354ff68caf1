"""Admin: supervisors edit rules and the high-risk list (each change logged by AuditedAdminMixin);
flags change only through the review services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from auditlog.admin_audit import AuditedAdminMixin
from audits import services
from audits.models import (
    Flag,
    FlagEscalation,
    FlagNote,
    FlagProposal,
    HighRiskCountry,
    OperatorRisk,
    ProposalStatus,
    Rule,
    RuleVersion,
    ScanRun,
    SeverityDeadline,
)
from audits.review_errors import review_error_message
from audits.subjects import flag_subject
from operators.labels import country_name


@admin.register(Rule)
class RuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    # Thresholds live in `parameters`: their values before and after are logged.
    audit_values = (
        "title",
        "title_en",
        "title_be",
        "explanation",
        "explanation_en",
        "explanation_be",
        "description",
        "severity",
        "enabled",
        "parameters",
    )
    list_display = ["rule_title", "code", "severity", "enabled", "updated_at"]
    list_editable = ["severity"]
    # Parameters and the switch change only through a published version (the rule's versions page):
    # here they show the version in force.
    readonly_fields = ["code", "enabled", "parameters", "versions_link", "updated_at"]
    fields = [
        "code",
        "title",
        "title_en",
        "title_be",
        "explanation",
        "explanation_en",
        "explanation_be",
        "description",
        "severity",
        "enabled",
        "parameters",
        "versions_link",
        "updated_at",
    ]

    @admin.display(description=_("название"), ordering="title")
    def rule_title(self, obj):
        return obj.label

    @admin.display(description=_("версии правила"))
    def versions_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("audits:rule_detail", args=[obj.code]),
            _("Изменить параметры или включение: черновик, проверка на истории, публикация"),
        )

    def has_add_permission(self, request):
        return False  # a rule without code behind it would do nothing

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    """Read only: versions are drafted, tried and published on the rule's versions page (audit-logged there)."""

    list_display = ["rule", "number", "status", "enabled", "effective_from", "author", "published_by", "published_at"]
    list_filter = ["status", "rule"]
    readonly_fields = [f.name for f in RuleVersion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HighRiskCountry)
class HighRiskCountryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_values = ("country", "list_name", "active", "note")
    list_display = ["country", "country_name", "list_name", "active", "note", "updated_at"]
    list_filter = ["list_name", "active"]
    list_editable = ["active"]

    @admin.display(description=_("название страны"))
    def country_name(self, obj):
        return country_name(obj.country)


class FlagNoteInline(admin.TabularInline):
    model = FlagNote
    extra = 0
    can_delete = False
    fields = ["kind", "author", "text", "attachment_name", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _numbers(pks: list[int], shown: int = 20) -> str:
    """'№1, №2 и ещё 3': which objects an action changed, for its confirmation."""
    text = ", ".join(f"№{pk}" for pk in pks[:shown])
    if len(pks) > shown:
        text += " " + _("и ещё %(n)d") % {"n": len(pks) - shown}
    return text


def _bulk(action_name: str, call, done_text):
    """An admin action over the selected flags; ``done_text`` (with %(ids)s) says what was done to which."""

    def action(modeladmin, request, queryset):
        done, failed = [], []
        for flag in queryset:
            try:
                call(flag=flag, actor=request.user, ip=request.META.get("REMOTE_ADDR"))
                done.append(flag.pk)
            except (ValidationError, PermissionDenied) as exc:
                failed.append(f"#{flag.pk}: {review_error_message(exc)}")
        if done:
            modeladmin.message_user(request, done_text % {"ids": _numbers(done)}, messages.SUCCESS)
        if failed:
            modeladmin.message_user(request, "; ".join(failed)[:1000], messages.ERROR)

    action.__name__ = action_name
    return action


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["id", "operator", "rule", "subject_text", "severity", "status", "assignee", "opened_at"]
    list_filter = ["status", "severity", "rule", "assignee"]
    search_fields = ["operator__unp", "operator__name", "subject", "fingerprint"]
    list_select_related = ["operator", "rule", "assignee"]
    inlines = [FlagNoteInline]
    actions = [
        admin.action(description=_("Взять себе"))(
            _bulk("take", services.flag_take, _("Взяты вами в работу нарушения: %(ids)s."))
        ),
        admin.action(description=_("Подтвердить"))(
            _bulk("confirm", services.flag_confirm, _("Подтверждены нарушения: %(ids)s."))
        ),
    ]
    # Dismissing and referring need a reason (and an agency): done on the flag page, not in bulk.

    @admin.display(description=_("предмет"))
    def subject_text(self, obj):
        return flag_subject(obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Flag._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OperatorRisk)
class OperatorRiskAdmin(admin.ModelAdmin):
    list_display = ["operator", "score", "computed_at"]
    list_select_related = ["operator"]
    readonly_fields = ["operator", "score", "explanation", "computed_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ScanRun)
class ScanRunAdmin(admin.ModelAdmin):
    list_display = ["id", "started_at", "finished_at", "status", "opened", "kept", "cleared"]
    readonly_fields = [
        "started_at",
        "finished_at",
        "status",
        "opened",
        "kept",
        "cleared",
        "timings",
        "error",
        "requested_by",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(SeverityDeadline)
class SeverityDeadlineAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Supervisors: the working days to decide a flag of each severity, and when an overdue one is escalated.
    A change applies to flags that open after it (each change logged)."""

    audit_values = ("working_days", "escalate_after_days")
    list_display = ["severity", "working_days", "escalate_after_days", "updated_at"]
    list_editable = ["working_days", "escalate_after_days"]
    readonly_fields = ["severity", "updated_at"]
    fields = ["severity", "working_days", "escalate_after_days", "updated_at"]

    def has_add_permission(self, request):
        return False  # one row per severity, seeded by the migration

    def has_delete_permission(self, request, obj=None):
        return False


def _approve(modeladmin, request, queryset):
    """Four eyes from the admin: approve the selected pending proposals (never one's own: the service refuses)."""
    done, failed = [], []
    for proposal in queryset.filter(status=ProposalStatus.PENDING):
        try:
            services.proposal_approve(proposal=proposal, actor=request.user, ip=request.META.get("REMOTE_ADDR"))
            done.append(proposal.flag_id)
        except (ValidationError, PermissionDenied) as exc:
            failed.append(f"#{proposal.pk}: {review_error_message(exc)}")
    if done:
        text = _("Утверждены решения по нарушениям: %(ids)s.") % {"ids": _numbers(done)}
        modeladmin.message_user(request, text, messages.SUCCESS)
    if failed:
        modeladmin.message_user(request, "; ".join(failed)[:1000], messages.ERROR)


@admin.register(FlagProposal)
class FlagProposalAdmin(admin.ModelAdmin):
    """Four-eyes proposals: read-only; a second auditor approves pending ones (returning needs a reason:
    on the flag page)."""

    list_display = ["id", "flag", "action", "status", "proposed_by", "proposed_at", "decided_by", "decided_at"]
    list_filter = ["status", "action"]
    list_select_related = ["flag__rule", "proposed_by", "decided_by"]
    actions = [admin.action(description=_("Утвердить решение (второй аудитор)"))(_approve)]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in FlagProposal._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FlagEscalation)
class FlagEscalationAdmin(admin.ModelAdmin):
    list_display = ["flag", "level", "due_date", "overdue_days", "created_at"]
    list_select_related = ["flag__rule"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in FlagEscalation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

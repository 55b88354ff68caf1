"""Supervisors manage API tokens; a new key is shown once, on the page after saving."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken, Scope
from api.services import api_token_create, api_token_revoke
from auditlog.admin_audit import AuditedAdminMixin
from operators.access import access_of
from operators.models import OperatorMembership


class ApiTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "agency", "user", "operator", "expires_at"]

    def clean(self):
        data = super().clean()
        operator, user = data.get("operator"), data.get("user")
        if operator is not None and user is None:
            raise ValidationError("An operator token must name the staff user it acts for.")
        if operator is not None and not OperatorMembership.objects.filter(user=user, operator=operator).exists():
            raise ValidationError("The user is not staff of this operator.")
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    # Never key_hash: the log names the token by its name and prefix (object_repr).
    audit_values = ("name", "scopes", "user", "operator", "expires_at", "revoked_at")
    list_display = ("name", "prefix", "kind", "scope_list", "operator", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "operator__unp", "user__username")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at", "scopes")
    autocomplete_fields = ("user", "operator")
    actions = ["revoke"]

    # Only supervisors (DESIGN section 7), whatever the model permissions of other groups.
    def has_module_permission(self, request):
        return access_of(request).supervisor

    def has_view_permission(self, request, obj=None):
        return access_of(request).supervisor

    def has_add_permission(self, request):
        return access_of(request).supervisor

    def has_change_permission(self, request, obj=None):
        return access_of(request).supervisor

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the audit log and last use stay explainable

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
        return (*self.readonly_fields, "agency", "user", "operator")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "agency", "user", "operator", "expires_at"]
        return [
            "name",
            "prefix",
            "scopes",
            "agency",
            "user",
            "operator",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "created_by",
            "created_at",
        ]

    @admin.display(description=_("области"))
    def scope_list(self, obj):
        labels = dict(Scope.choices)
        return ", ".join(str(labels.get(s, s)) for s in obj.scopes)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_token_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
            user=form.cleaned_data.get("user"),
            operator=form.cleaned_data.get("operator"),
            expires_at=form.cleaned_data.get("expires_at"),
            agency=form.cleaned_data.get("agency") or "",
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved token.
        obj.__dict__.update({k: v for k, v in issued.token.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = issued.token._state.db
        messages.warning(
            request,
            gettext_now("Ключ токена показывается один раз: %(key)s") % {"key": issued.key},
        )

    @admin.action(description=_("Отозвать"))
    def revoke(self, request, queryset):
        revoked = []
        for token in queryset:
            if token.revoked_at is not None:
                continue  # already revoked: nothing changes, nothing to log
            before = self._audit_snapshot(token)
            api_token_revoke(token=token)
            self.log_change_fields(request, token, fields=["revoked_at"], before=before)
            revoked.append(f"«{token.name}»")
        if revoked:
            text = gettext_now("Отозваны токены: %(names)s.") % {"names": ", ".join(revoked[:20])}
            self.message_user(request, text, messages.SUCCESS)
        else:
            self.message_user(request, gettext_now("Ничего не отозвано: выбранные токены уже отозваны."), messages.INFO)

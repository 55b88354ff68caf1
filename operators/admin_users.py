"""Users and groups in the admin: supervisors manage accounts only within the portal's roles.

Replaces the stock user and group admins. For anyone but a superuser the user forms hold no
superuser, staff or permission fields and offer only the portal's role groups; a field that is not
in the form is ignored by the admin, and operators.accounts.user_roles_set enforces the rest on the
server. Group permissions, OTP devices and login-lockout records are for superusers alone.
Every change is written to the audit log (auditlog.admin_audit).
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from auditlog.admin_audit import AuditedAdminMixin
from operators.access import access_of
from operators.accounts import role_groups, user_manageable, user_roles_set

USER_VALUES = (
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
    "groups",
    "user_permissions",
)


class PortalUserAdmin(AuditedAdminMixin, UserAdmin):
    audit_values = USER_VALUES
    role_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Роль"), {"fields": ("is_active", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    role_add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2", "groups")}),
    )

    def get_fieldsets(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.role_fieldsets if obj is not None else self.role_add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("last_login", "date_joined")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = role_groups()
            kwargs["help_text"] = _("Роль на портале")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # The password page asks this too: a supervisor cannot reset a superuser's password.
        return super().has_change_permission(request, obj) and user_manageable(actor=request.user, user=obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and user_manageable(actor=request.user, user=obj)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            stored = User.objects.filter(pk=obj.pk).first() if change else None
            if not user_manageable(actor=request.user, user=stored):
                raise PermissionDenied
            # Not in the form, so not taken from the request; kept as stored all the same.
            obj.is_superuser = False
            obj.is_staff = stored.is_staff if stored is not None else False
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if request.user.is_superuser:
            super().save_related(request, form, formsets, change)
            return
        # Not form.save_m2m(): it would replace every group with the role choices and drop the
        # groups a superuser gave. user_roles_set changes the roles alone.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        user_roles_set(
            actor=request.user, user=form.instance, roles=[g.name for g in form.cleaned_data.get("groups", [])]
        )


class PortalGroupAdmin(AuditedAdminMixin, GroupAdmin):
    """Supervisors may read what each role grants; only superusers change group permissions."""

    audit_values = ("name", "permissions")

    def has_module_permission(self, request):
        return access_of(request).supervisor

    def has_view_permission(self, request, obj=None):
        return access_of(request).supervisor

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


def _superuser_only(model_admin_class: type) -> type:
    """The registered admin of a security library's model, for superusers alone, its changes audited.

    No `audit_values`: an OTP device holds its secret key.
    """

    def superuser(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    return type(
        f"SuperuserOnly{model_admin_class.__name__}",
        (AuditedAdminMixin, model_admin_class),
        {
            "has_module_permission": lambda self, request: superuser(self, request),
            "has_view_permission": superuser,
            "has_add_permission": lambda self, request, *args: superuser(self, request),
            "has_change_permission": superuser,
            "has_delete_permission": superuser,
            "__module__": __name__,
        },
    )


def register(site: admin.AdminSite = admin.site) -> None:
    """Put these admins in place of the stock ones (called once, when the admin modules load)."""
    for model, model_admin in ((User, PortalUserAdmin), (Group, PortalGroupAdmin)):
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
    # Whatever OTP device and lockout models are installed (django-otp plugins, django-axes).
    for model in list(site._registry):
        if model._meta.app_label.startswith(("otp_", "axes")):
            model_admin_class = type(site.get_model_admin(model))
            site.unregister(model)
            site.register(model, _superuser_only(model_admin_class))


register()

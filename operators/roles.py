"""Roles of DESIGN section 7, in one place.

Auditors and supervisors are Django groups (created by a migration); operator
staff are users with an OperatorMembership. Every view asks these functions,
never the groups directly.
"""

from django.apps import apps as django_apps
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

AUDITORS = "auditors"
SUPERVISORS = "supervisors"

# Model permissions per group. Auditors read everything; supervisors also manage
# the registry, the rule catalogue, the filing calendar, users and agency tokens.
# Models not installed (yet) are skipped, so every app's migration can call
# groups_sync() again once its own models exist.
READ_EVERYTHING_APPS = ("operators", "outflows", "audits", "api")
SUPERVISOR_MANAGES = {
    "operators": ("operator", "foreignplatform", "operatormembership", "filingcalendar"),
    "audits": ("rule", "highriskcountry"),
    "api": ("apitoken",),
    "auth": ("user",),
}


def groups_sync(*, apps=django_apps) -> None:
    """Create the `auditors` and `supervisors` groups and grant their permissions. Idempotent.

    Called by migrations (with their historical `apps`) and by tests after a flush.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Historical app configs (in migrations) have no models_module, and
        # create_permissions skips an app without one.
        had_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    readable = permission_model.objects.filter(
        content_type__app_label__in=READ_EVERYTHING_APPS, codename__startswith="view_"
    )
    auditors, _ = group_model.objects.get_or_create(name=AUDITORS)
    auditors.permissions.add(*readable)
    supervisors, _ = group_model.objects.get_or_create(name=SUPERVISORS)
    supervisors.permissions.add(*readable)
    for app_label, models in SUPERVISOR_MANAGES.items():
        codenames = [f"{action}_{model}" for model in models for action in ("view", "add", "change", "delete")]
        supervisors.permissions.add(
            *permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def _groups(user: User | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_portal_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._portal_groups = cached
    return cached


def is_supervisor(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and (user.is_superuser or SUPERVISORS in _groups(user))


def is_auditor(user: User | AnonymousUser) -> bool:
    """Auditors and supervisors: the SCC side, who read everything."""
    return is_supervisor(user) or AUDITORS in _groups(user)


def operator_ids_for(user: User | AnonymousUser) -> list[int]:
    """Operators a user acts for as operator staff."""
    if not user.is_authenticated or user.pk is None:
        return []  # anonymous, or an agency token's client (api.access.AgencyClient): no portal user
    return list(user.memberships.values_list("operator_id", flat=True))


def is_operator_staff(user: User | AnonymousUser) -> bool:
    return bool(operator_ids_for(user))


def restrict_to_user(queryset: QuerySet, user: User | AnonymousUser, *, operator_field: str = "operator") -> QuerySet:
    """What a user may read of an operator-owned queryset: all for the SCC, their own for staff."""
    if is_auditor(user):
        return queryset
    ids = operator_ids_for(user)
    if not ids:
        return queryset.none()
    lookup = "pk__in" if operator_field == "self" else f"{operator_field}__in"
    return queryset.filter(**{lookup: ids})


def require_auditor(user: User | AnonymousUser) -> None:
    if not is_auditor(user):
        raise PermissionDenied


def require_supervisor(user: User | AnonymousUser) -> None:
    if not is_supervisor(user):
        raise PermissionDenied


def require_operator_member(user: User | AnonymousUser, operator_id: int) -> None:
    """Staff of another operator get 404, never a 403 that reveals the object exists."""
    if is_auditor(user):
        return
    if operator_id not in operator_ids_for(user):
        raise Http404

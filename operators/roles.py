"""Roles of DESIGN section 7, in one place.

Auditors and supervisors are Django groups (created by a migration); operator
staff are users with an OperatorMembership. These predicates are the primitives the
request's Access (operators/access.py) is built from; pages, exports and the API ask
the Access, never the groups directly.
"""

from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AnonymousUser, User

AUDITORS = "auditors"
SUPERVISORS = "supervisors"

# Model permissions per group, the only definition of them: groups_sync() sets exactly these,
# after every `migrate` (post_migrate, operators/apps.py; also after a test's flush) and from
# operators/0002. Auditors read everything; supervisors also manage the registry, the rule
# catalogue (rules are code: edited, never added or deleted), the high-risk list, the review deadlines
# per severity, the filing calendar, users, agency tokens and their webhook subscriptions (the delivery
# log read only). Models not installed (yet) are skipped.
READ_EVERYTHING_APPS = ("auditlog", "operators", "outflows", "screening", "audits", "api")
_ALL = ("view", "add", "change", "delete")
SUPERVISOR_MANAGES = {
    "operators": {"operator": _ALL, "foreignplatform": _ALL, "operatormembership": _ALL, "filingcalendar": _ALL},
    "audits": {"rule": ("view", "change"), "highriskcountry": _ALL, "severitydeadline": ("view", "change")},
    "api": {"apitoken": _ALL},
    # Sanctions lists: supervisors upload new versions in the admin (hits are decided on the review page).
    "screening": {"listimport": ("view", "add"), "platformalias": _ALL},
    # Agencies' webhook subscriptions (they go with the tokens) and their delivery log, read only.
    "webhooks": {"subscription": _ALL, "delivery": ("view",)},
    "auth": {"user": _ALL},
}


def role_permissions(*, supervisor: bool, apps=django_apps) -> frozenset[str]:
    """The model permissions ("app_label.codename") of the SCC roles, from the table above: what the
    admin lets an auditor (or, with `supervisor`, a supervisor) do. Access.may asks this, and
    groups_sync writes the same set into the groups, so the database shows what the portal decides."""
    granted = set()
    for label in READ_EVERYTHING_APPS:
        if label in {c.label for c in apps.get_app_configs()}:
            granted |= {f"{label}.view_{m._meta.model_name}" for m in apps.get_app_config(label).get_models()}
    if supervisor:
        for label, models in SUPERVISOR_MANAGES.items():
            granted |= {f"{label}.{action}_{model}" for model, actions in models.items() for action in actions}
    return frozenset(granted)


def groups_sync(*, apps=django_apps, **signal_kwargs) -> None:
    """Create the `auditors` and `supervisors` groups and give them exactly their permissions. Idempotent.

    Called after every migrate (post_migrate, with the migrated `apps`), by operators/0002 (with its
    historical `apps`) and by the test factories after a flush.
    """
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
    managed = permission_model.objects.none()
    for app_label, models in SUPERVISOR_MANAGES.items():
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        managed |= permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    auditors, _ = group_model.objects.get_or_create(name=AUDITORS)
    auditors.permissions.set(readable)
    supervisors, _ = group_model.objects.get_or_create(name=SUPERVISORS)
    supervisors.permissions.set(readable | managed)


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

"""Writes on portal accounts: the roles a supervisor gives (DESIGN section 7).

Supervisors manage users only within the portal's roles. Superuser status, direct model
permissions and any group other than the roles are for superusers alone; this module is where
that is enforced, whatever a form or a crafted request carries.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from operators.access import access_for_user
from operators.roles import AUDITORS, SUPERVISORS

PORTAL_ROLES = (AUDITORS, SUPERVISORS)


def role_groups() -> QuerySet[Group]:
    """The groups a supervisor may give: the portal's roles, nothing else."""
    return Group.objects.filter(name__in=PORTAL_ROLES)


def user_manageable(*, actor: AbstractBaseUser | AnonymousUser, user: User | None) -> bool:
    """May `actor` edit `user` (None: a new user)? Superusers anyone; supervisors anyone but a superuser."""
    if not actor.is_authenticated:
        return False
    if actor.is_superuser:
        return True
    return access_for_user(actor).supervisor and (user is None or not user.is_superuser)


def user_staff_needed(*, user: User) -> bool:
    """Staff status follows access: a portal role (auditors and supervisors work in the admin), or a
    group or permission a superuser granted. Operator staff work on the portal's pages, not the admin."""
    return user.groups.exists() or user.user_permissions.exists()


@transaction.atomic
def user_roles_set(*, actor: AbstractBaseUser | AnonymousUser, user: User, roles: Iterable[str]) -> User:
    """Give `user` exactly these portal roles; their other groups and permissions stay as they are.

    Supervisors and superusers only; a supervisor may not touch a superuser (PermissionDenied).
    A name outside the portal's roles is a ValidationError. Makes the user staff when a role needs the
    admin and takes staff away when nothing does any more (see user_staff_needed); a superuser's
    flags are never changed here. Idempotent. The caller writes the audit event (the admin's
    AuditedAdminMixin does).
    """
    roles = set(roles)
    unknown = sorted(roles - set(PORTAL_ROLES))
    if unknown:
        raise ValidationError(f"not a portal role: {', '.join(unknown)}")
    if not user_manageable(actor=actor, user=user):
        raise PermissionDenied
    held = set(user.groups.filter(name__in=PORTAL_ROLES).values_list("name", flat=True))
    if held - roles:
        user.groups.remove(*role_groups().filter(name__in=held - roles))
    if roles - held:
        user.groups.add(*role_groups().filter(name__in=roles - held))
    user.__dict__.pop("_portal_groups", None)  # operators.roles caches the names on the object
    if not user.is_superuser:
        staff = user_staff_needed(user=user)
        if user.is_staff != staff:
            user.is_staff = staff
            User.objects.filter(pk=user.pk).update(is_staff=staff)
    return user

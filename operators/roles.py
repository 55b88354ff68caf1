"""Roles of DESIGN section 7, in one place.

Auditors and supervisors are Django groups (created by a migration); operator
staff are users with an OperatorMembership. Every view asks these functions,
never the groups directly.
"""

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

AUDITORS = "auditors"
SUPERVISORS = "supervisors"


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
    if not user.is_authenticated:
        return []
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

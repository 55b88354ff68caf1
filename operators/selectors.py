"""Reads of the operator registry."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from operators.models import Operator
from operators.roles import restrict_to_user


def operator_list(*, user: User | AnonymousUser, search: str = "", status: str = "", activity: str = "") -> QuerySet:
    """Operators the user may see, filtered; auditors see all, staff only their own."""
    qs = restrict_to_user(Operator.objects.all(), user, operator_field="self")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(unp__startswith=search.strip()))
    if status:
        qs = qs.filter(status=status)
    if activity:
        qs = qs.filter(activity=activity)
    return qs.order_by("name")


def operator_get(*, user: User | AnonymousUser, pk: int) -> Operator:
    """One operator, or Operator.DoesNotExist when the user may not see it (callers answer 404)."""
    return operator_list(user=user).get(pk=pk)

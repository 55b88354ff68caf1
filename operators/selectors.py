"""Reads of the operator registry."""

from django.db.models import Q, QuerySet

from operators.access import Access
from operators.models import Operator


def operator_list(*, access: Access, search: str = "", status: str = "", activity: str = "") -> QuerySet:
    """Operators the caller may see (Access.operators: the SCC and agencies all, staff only their own), filtered."""
    qs = access.operators(Operator.objects.all())
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(unp__startswith=search.strip()))
    if status:
        qs = qs.filter(status=status)
    if activity:
        qs = qs.filter(activity=activity)
    return qs.order_by("name")


def operator_get(*, access: Access, pk: int) -> Operator:
    """One operator, or Operator.DoesNotExist when the caller may not see it (callers answer 404)."""
    return operator_list(access=access).get(pk=pk)

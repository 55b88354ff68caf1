"""Reads of the filing intake: which filings (and their row errors) a caller may see.

The one rule for the filing pages, the error report export and the API (DESIGN section 7):
agencies and the SCC read every filing; operator staff their own operators' filings; anyone
else none. Who is who is operators.access.Access.
"""

from django.db.models import QuerySet

from operators.access import Access
from operators.models import FilingError, RegistrationFiling


def filings_visible(*, access: Access, queryset: QuerySet | None = None) -> QuerySet[RegistrationFiling]:
    queryset = RegistrationFiling.objects.select_related("operator") if queryset is None else queryset
    return access.restrict(queryset, operator_field="operator")


def filing_errors_visible(*, access: Access, queryset: QuerySet | None = None) -> QuerySet[FilingError]:
    """Row errors of the filings the caller may see."""
    queryset = FilingError.objects.all() if queryset is None else queryset
    return access.restrict(queryset, operator_field="filing__operator")

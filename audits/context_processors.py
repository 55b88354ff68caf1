"""The header's count of what needs the SCC user (audits.notifications): one query, made only when a
page shows the header, and only for auditors and supervisors."""

from django.utils.functional import SimpleLazyObject

from audits.notifications import inbox_count
from operators.access import access_of


def notifications(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not access_of(request).is_auditor:
        return {}
    return {"notifications_count": SimpleLazyObject(lambda: inbox_count(user=user))}

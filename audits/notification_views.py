"""The notifications page (issue 18, item 6): what needs an SCC user. Auditors and supervisors only;
operator staff and everyone else are refused (operators.access: require_auditor)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from audits import notifications, services
from operators.access import access_of


@login_required
def notifications_page(request):
    """GET: flags assigned to me, approvals waiting for me, my proposals, escalations and returns, and the
    sections other parts register. POST: mark my notifications read."""
    access_of(request).require_auditor()
    user = request.user
    if request.method == "POST":
        marked = services.notifications_mark_read(user=user)
        messages.success(request, _("Отмечено прочитанными: %(n)d.") % {"n": marked})
        return redirect("notifications")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    counts = notifications.inbox_counts(user=user)
    extra = [
        {"source": source, "items": source.items(user=user), "count": counts.extra.get(source.key, 0)}
        for source in notifications.inbox_sources()
    ]
    return render(
        request,
        "audits/notifications.html",
        {
            "counts": counts,
            "assigned": notifications.flags_assigned(user=user)[:100],
            "waiting": notifications.proposals_waiting(user=user)[:100],
            "mine": notifications.proposals_mine(user=user)[:100],
            "notes": notifications.notifications_of(user=user)[:100],
            "extra": extra,
            "today": timezone.localdate(),
        },
    )

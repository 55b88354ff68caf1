"""A filing's stored file, served through the portal (never from /media/).

Who may use it: SCC auditors and supervisors (every filing) and the filing's own operator's
staff; the same rule as the filing page (filings.selectors.filings_visible). Anyone else gets a
404, as if the filing did not exist; anonymous users go to the login page. Each download is one
`filing.file_read` audit event.
"""

from pathlib import PurePath

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from auditlog.services import audit_event_record
from filings.selectors import filings_visible
from operators.access import access_of


@login_required
@require_GET
def filing_file(request, pk: int):
    filing = filings_visible(access=access_of(request)).filter(pk=pk).exclude(file="").first()
    if filing is None:
        request.refusal_reason = "filing file not visible"
        raise Http404
    try:
        handle = filing.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        request.refusal_reason = "filing file missing from storage"
        raise Http404 from exc
    audit_event_record(
        actor=request.user,
        action="filing.file_read",
        obj=filing,
        ip=request.META.get("REMOTE_ADDR"),
        details={"filing": filing.pk, "sha256": filing.sha256},
    )
    name = PurePath(filing.original_name).name if filing.original_name else f"filing-{filing.pk}"
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["Cache-Control"] = "private, no-store"
    return response

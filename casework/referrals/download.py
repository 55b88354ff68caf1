"""A referral package as a download: the one response for the flag page, the dossier and the API."""

from django.http import HttpResponse

from casework.models import ReferralPackage


def package_response(package: ReferralPackage) -> HttpResponse:
    """The stored zip as it was written, with its package SHA-256 in `X-Package-SHA256`; never cached."""
    response = HttpResponse(bytes(package.content), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{package.filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Package-SHA256"] = package.sha256
    return response

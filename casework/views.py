"""Casework pages (issue 18).

referral_download: SCC auditors and supervisors only (operators.access: `is_auditor`); anyone else 404,
anonymous users the login page. The package of the flag's current referral (built now if it has none
yet), else the flag's latest package; one `referral.download` audit event per download.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_GET

from auditlog.services import audit_event_record
from audits.models import Flag, FlagStatus
from casework.models import ReferralPackage
from operators.access import access_of

from .referrals.download import package_response
from .referrals.services import referral_package_ensure


@login_required
@require_GET
def referral_download(request, flag_pk: int):
    if not access_of(request).is_auditor:
        request.refusal_reason = "referral package: SCC only"
        raise Http404
    flag = Flag.objects.filter(pk=flag_pk).first()
    if flag is None:
        raise Http404
    ip = request.META.get("REMOTE_ADDR")
    if flag.status == FlagStatus.REFERRED:
        package = referral_package_ensure(flag=flag, actor=request.user, ip=ip)
    else:
        package = ReferralPackage.objects.filter(flag=flag).first()
        if package is None:
            raise Http404
    audit_event_record(
        actor=request.user,
        action="referral.download",
        obj=package,
        ip=ip,
        details={"flag": flag.pk, "package_sha256": package.sha256, "via": "page"},
    )
    return package_response(package)

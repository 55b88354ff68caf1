"""Referring a whole operator (issue 18 item 5): one immutable package of its confirmed and referred flags
(casework.referrals.operator), written once, audit-logged."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_event_record
from audits.models import Agency
from casework.models import ReferralPackage
from operators.access import access_for_user
from operators.models import Operator

from .operator import operator_flags, operator_package_members
from .operator_pdf import operator_summary_pdf
from .services import ReferralNotReady, package_store


class OperatorReferralError(ValueError):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def operator_refer(
    *, operator: Operator, agency: str, actor: AbstractBaseUser, reason: str, ip: str | None = None
) -> ReferralPackage:
    """SCC auditors and supervisors (anyone else: PermissionDenied) refer an operator to an agency: one
    `operator.refer` audit event, then the package (its `referral.package` event), in one transaction.
    Raises OperatorReferralError for an unknown agency or no reason, ReferralNotReady when the operator
    has no confirmed or referred flag to refer."""
    if actor is None:
        raise OperatorReferralError("an SCC user refers", code="actor_required")
    access_for_user(actor).require_auditor()
    if agency not in Agency.values:
        raise OperatorReferralError("unknown agency", code="agency_unknown")
    reason = (reason or "").strip()
    if not reason:
        raise OperatorReferralError("a reason is required to refer an operator", code="reason_required")
    with transaction.atomic():
        operator = Operator.objects.select_for_update().get(pk=operator.pk)
        flag_ids = list(operator_flags(operator=operator).values_list("id", flat=True))
        if not flag_ids:
            raise ReferralNotReady(f"operator {operator.unp} has no confirmed or referred flag to refer")
        referred_at = timezone.now()
        event = audit_event_record(
            actor=actor,
            action="operator.refer",
            obj=operator,
            ip=ip,
            details={"agency": agency, "reason": reason, "flags": flag_ids},
        )
        built = operator_package_members(
            operator=operator,
            agency=agency,
            reason=reason,
            referred_at=referred_at,
            refer_event=event,
            built_by=actor.get_username(),
            render_pdf=operator_summary_pdf,
        )
        package = package_store(
            built=built,
            referred_at=referred_at,
            actor=actor,
            ip=ip,
            subject={"flag": None, "operator": operator, "agency": agency},
            details={"operator": operator.pk, "agency": agency, "flags": flag_ids},
        )
    return package


def operator_package_latest(*, operator: Operator) -> ReferralPackage | None:
    return ReferralPackage.objects.filter(operator=operator, flag__isnull=True).first()

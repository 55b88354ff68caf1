"""Writing a referral package: once per referral, never changed (casework.models.ReferralPackage)."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from auditlog.services import audit_event_record
from audits.models import Flag, FlagStatus
from casework.models import ReferralPackage

from . import package as fmt
from .build import package_members
from .pdf import summary_pdf

log = logging.getLogger(__name__)


class ReferralNotReady(ValueError):
    """The flag is not (or no longer) referred: there is no referral to package."""


def package_store(*, built, referred_at, actor, ip: str | None, subject: dict, details: dict) -> ReferralPackage:
    """Zip the built members, store the package (a flag's or an operator's: `subject`) once and record
    its `referral.package` event with `details` plus the package's SHA-256s, size and chain head."""
    data, manifest = fmt.package_zip(built.members, when=timezone.localtime(referred_at))
    package = ReferralPackage.objects.create(
        **subject,
        referred_at=referred_at,
        created_by=actor,
        sha256=manifest["package_sha256"],
        zip_sha256=fmt.sha256_hex(data),
        size_bytes=len(data),
        members=len(built.members),
        content=data,
    )
    audit_event_record(
        actor=actor,
        action="referral.package",
        obj=package,
        ip=ip,
        details={
            **details,
            "package_sha256": package.sha256,
            "zip_sha256": package.zip_sha256,
            "members": package.members,
            "chain_head_event": built.chain.head_event_id,
        },
    )
    return package


def referral_package_current(*, flag: Flag) -> ReferralPackage | None:
    """The package of the flag's current referral, if it was built."""
    if flag.status != FlagStatus.REFERRED or flag.decided_at is None:
        return None
    return ReferralPackage.objects.filter(flag=flag, referred_at=flag.decided_at).first()


def referral_package_ensure(*, flag: Flag, actor: AbstractBaseUser | None = None, ip: str | None = None):
    """The package of the flag's current referral: the stored one, or built and stored now (one audit
    event, `referral.package`, with its SHA-256). Raises ReferralNotReady for a flag not referred."""
    flag = Flag.objects.select_related("operator", "rule").get(pk=flag.pk)
    if flag.status != FlagStatus.REFERRED or flag.decided_at is None or not flag.referred_to:
        raise ReferralNotReady(f"flag #{flag.pk} is not referred")
    existing = referral_package_current(flag=flag)
    if existing is not None:
        return existing
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    built = package_members(flag=flag, built_by=user.get_username() if user else "", render_pdf=summary_pdf)
    try:
        with transaction.atomic():
            package = package_store(
                built=built,
                referred_at=flag.decided_at,
                actor=user,
                ip=ip,
                subject={"flag": flag, "agency": flag.referred_to},
                details={"flag": flag.pk, "agency": flag.referred_to},
            )
    except IntegrityError:  # built at the same time by another request: theirs is the one
        found = referral_package_current(flag=flag)
        if found is None:
            raise
        return found
    return package


def referral_package_after_commit(flag_id: int) -> None:
    """The Flag receiver's callback: build the package of a referral that just took effect. A failure is
    logged, never raised into the decision that was already committed (the flag page builds it on demand)."""
    try:
        flag = Flag.objects.get(pk=flag_id)
        if flag.status == FlagStatus.REFERRED and referral_package_current(flag=flag) is None:
            referral_package_ensure(flag=flag)
    except Exception:
        log.exception("referral package of flag #%s not built", flag_id)

"""A referral that takes effect (whichever path: the flag page, four-eyes approval, the admin, the API)
saves its flag as referred: after the commit its package is built (casework.referrals.services)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from audits.models import Flag, FlagStatus
from casework.referrals.services import referral_package_after_commit


@receiver(post_save, sender=Flag, dispatch_uid="casework.referral_package")
def flag_saved(sender, instance: Flag, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or instance.status != FlagStatus.REFERRED:
        return
    flag_id = instance.pk
    transaction.on_commit(lambda: referral_package_after_commit(flag_id))

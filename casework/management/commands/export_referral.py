"""manage.py export_referral FLAG_ID --out PACKAGE.zip: write the referral package of a referred flag
(the stored one; built and stored first if the referral has none yet)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audits.models import Flag
from casework.referrals.services import ReferralNotReady, referral_package_ensure


class Command(BaseCommand):
    help = "Write the referral package (zip) of a referred flag."

    def add_arguments(self, parser):
        parser.add_argument("flag_id", type=int)
        parser.add_argument("--out", required=True, help="the zip file to write")

    def handle(self, *args, flag_id: int, out: str, **options):
        try:
            flag = Flag.objects.get(pk=flag_id)
            package = referral_package_ensure(flag=flag)
        except Flag.DoesNotExist as exc:
            raise CommandError(f"no flag #{flag_id}") from exc
        except ReferralNotReady as exc:
            raise CommandError(f"flag #{flag_id} is not referred: it has no referral package") from exc
        Path(out).write_bytes(bytes(package.content))
        self.stdout.write(
            f"{out}: referral package of flag #{flag_id} to {package.agency}, {package.members} files, "
            f"package SHA-256 {package.sha256}"
        )

"""manage.py export_referral FLAG_ID --out PACKAGE.zip: write the referral package of a referred flag
(the stored one; built and stored first if the referral has none yet).
manage.py export_referral --operator UNP --out PACKAGE.zip: write the latest package of an operator's
referral (casework.referrals.operator_services.operator_refer makes it; this command never refers)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audits.models import Flag
from casework.referrals.operator_services import operator_package_latest
from casework.referrals.services import ReferralNotReady, referral_package_ensure
from operators.models import Operator


class Command(BaseCommand):
    help = "Write the referral package (zip) of a referred flag."

    def add_arguments(self, parser):
        parser.add_argument("flag_id", type=int, nargs="?")
        parser.add_argument("--operator", metavar="UNP", help="the latest package of this operator's referral")
        parser.add_argument("--out", required=True, help="the zip file to write")

    def handle(self, *args, flag_id: int | None, out: str, operator: str | None = None, **options):
        if (flag_id is None) == (operator is None):
            raise CommandError("give either FLAG_ID or --operator UNP")
        if operator is not None:
            self._operator(unp=operator, out=out)
            return
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

    def _operator(self, *, unp: str, out: str) -> None:
        found = Operator.objects.filter(unp=unp.strip()).first()
        if found is None:
            raise CommandError(f"no operator with UNP {unp}")
        package = operator_package_latest(operator=found)
        if package is None:
            raise CommandError(f"operator {found.unp} was not referred: it has no referral package")
        Path(out).write_bytes(bytes(package.content))
        self.stdout.write(
            f"{out}: referral package of operator {found.unp} to {package.agency}, {package.members} files, "
            f"package SHA-256 {package.sha256}"
        )

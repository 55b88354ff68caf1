"""manage.py verify_referral PACKAGE.zip: check a referral package offline (no database needed).

Exit 0 when intact; exit 1 naming the first bad member (a filing, transfers.csv, summary.pdf, manifest.json,
the chain segment ...) when any byte of any member, the manifest or the chain segment was changed
(casework.referrals.package.package_verify says what is checked, in which order)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from casework.referrals.package import package_verify


class Command(BaseCommand):
    help = "Verify a referral package offline: exit 0 intact, 1 with the first bad member named."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("package", help="the package's zip file")
        parser.add_argument(
            "--sha256", default="", help="the package SHA-256 the SCC published (the API lists it): must match"
        )

    def handle(self, *args, package: str, sha256: str, **options):
        try:
            data = Path(package).read_bytes()
        except OSError as exc:
            raise CommandError(f"{package}: cannot read: {exc.strerror}", returncode=1) from exc
        verdict = package_verify(data, expected_sha256=sha256)
        if not verdict.ok:
            raise CommandError(f"{package}: bad member {verdict.member}: {verdict.reason}", returncode=1)
        self.stdout.write(f"{package}: intact, {verdict.members} files, package SHA-256 {verdict.package_sha256}")

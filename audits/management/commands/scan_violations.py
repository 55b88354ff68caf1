"""manage.py scan_violations [--json]: one violation scan, synchronously (DESIGN section 10)."""

import json

from django.core.management.base import BaseCommand, CommandError

from audits import selectors, services


class Command(BaseCommand):
    help = "Run one violation scan now; --json prints what it opened, kept and cleared and every flag not cleared."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **options):
        try:
            result = services.scan_run()
        except services.ScanAlreadyRunning as exc:
            raise CommandError("another violation scan is running; try again later") from exc
        if not options["json"]:
            self.stdout.write(
                f"scan #{result.scan.pk}: opened {result.opened}, kept {result.kept}, cleared {result.cleared}"
            )
            return
        flags = [
            {
                "id": f.pk,
                "operator": f.operator.unp,
                "rule": f.rule.code,
                "severity": f.severity,
                "status": f.status,
                "fingerprint": f.fingerprint,
            }
            for f in selectors.flags_not_cleared()
        ]
        payload = {"opened": result.opened, "kept": result.kept, "cleared": result.cleared, "flags": flags}
        self.stdout.write(json.dumps(payload, ensure_ascii=False))

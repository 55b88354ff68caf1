"""manage.py verify_audit_log: exit 0 when the audit log's hash chain is intact, else 1 naming the first break."""

from django.core.management.base import BaseCommand, CommandError

from audits import selectors
from audits.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (detects edited, inserted and deleted events)."

    def handle(self, *args, **options):
        broken = selectors.audit_log_verify()
        if broken is not None:
            raise CommandError(f"audit log broken at event #{broken.event_id}: {broken.reason}", returncode=1)
        self.stdout.write(f"audit log intact: {AuditEvent.objects.count()} events")

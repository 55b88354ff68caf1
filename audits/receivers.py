"""Security events from libraries, written to the audit log."""

from axes.signals import user_locked_out
from django.dispatch import receiver

from audits.services import audit_event_record


@receiver(user_locked_out, dispatch_uid="audits.lockout")
def record_lockout(sender, request, username, ip_address, **kwargs):
    audit_event_record(
        actor=None, action="auth.locked_out", ip=ip_address, details={"username": (username or "")[:150]}
    )

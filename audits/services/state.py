"""What the scan and the review both write into the audit log about a flag."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from audits.models import Flag

User = AbstractBaseUser | AnonymousUser | None


def flag_state(flag: Flag) -> dict:
    """The reviewable state of a flag, as an event's before/after."""
    return {
        "status": flag.status,
        "assignee": flag.assignee_id,
        "severity": flag.severity,
        "decision_reason": flag.decision_reason,
        "referred_to": flag.referred_to,
    }

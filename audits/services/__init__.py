"""Writes of the audits app, by concern: the violation scan (scan.py), the review workflow
(review.py), four-eyes decisions (approvals.py), review deadlines and escalation (deadlines.py), the
risk score (risk.py) and the filing reminders (reminders.py).

Every state change of a flag goes through a function here; views, admin actions, commands
and tasks only call them (`from audits import services; services.flag_confirm(...)`).
The audit log itself is the auditlog app's (auditlog.services.audit_event_record).
"""

from audits.services.approvals import (
    SamePersonError,
    flag_decide,
    flag_propose,
    four_eyes_required,
    proposal_approve,
    proposal_return,
)
from audits.services.deadlines import DEFAULT_DEADLINES, deadlines_current, escalations_send, flag_due_date
from audits.services.inbox import notifications_mark_read
from audits.services.reminders import MISSED_REMINDER_MAX_DAYS, REMINDER_WORKING_DAYS, reminders_send
from audits.services.review import (
    ANSWER_EXTENSIONS,
    ANSWER_MAX_BYTES,
    TRANSITIONS,
    FlagTransitionError,
    flag_answer,
    flag_assign,
    flag_confirm,
    flag_dismiss,
    flag_note_add,
    flag_refer,
    flag_reopen,
    flag_take,
)
from audits.services.risk import SEVERITY_POINTS, STATUS_FACTOR, risk_recompute
from audits.services.scan import (
    DEFAULT_MATERIAL_CHANGE,
    SCAN_LOCK_KEY,
    SCAN_LOCK_SECONDS,
    ScanAlreadyRunning,
    ScanResult,
    scan_run,
)

__all__ = [
    "ANSWER_EXTENSIONS",
    "ANSWER_MAX_BYTES",
    "DEFAULT_DEADLINES",
    "DEFAULT_MATERIAL_CHANGE",
    "MISSED_REMINDER_MAX_DAYS",
    "REMINDER_WORKING_DAYS",
    "SCAN_LOCK_KEY",
    "SCAN_LOCK_SECONDS",
    "SEVERITY_POINTS",
    "STATUS_FACTOR",
    "TRANSITIONS",
    "FlagTransitionError",
    "SamePersonError",
    "ScanAlreadyRunning",
    "ScanResult",
    "deadlines_current",
    "escalations_send",
    "flag_answer",
    "flag_assign",
    "flag_confirm",
    "flag_decide",
    "flag_dismiss",
    "flag_due_date",
    "flag_note_add",
    "flag_propose",
    "flag_refer",
    "flag_reopen",
    "flag_take",
    "four_eyes_required",
    "notifications_mark_read",
    "proposal_approve",
    "proposal_return",
    "reminders_send",
    "risk_recompute",
    "scan_run",
]

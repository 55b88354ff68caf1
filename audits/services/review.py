"""The review workflow: what auditors do with a flag, and operator staff's answers.

Every state change of a flag goes through a function here (views, admin actions and the API
only call them); each is one audit event with the flag's state before and after.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_event_record
from audits.models import (
    ACTIVE_STATUSES,
    DECIDED_STATUSES,
    Agency,
    Flag,
    FlagNote,
    FlagProposal,
    FlagStatus,
    NoteKind,
    ProposalStatus,
    Severity,
)
from audits.services.deadlines import flag_due_date
from audits.services.risk import risk_recompute
from audits.services.state import User, flag_state
from operators.access import access_for_user


class FlagTransitionError(ValidationError):
    """The action is not allowed from the flag's current status (or lacks what it requires)."""


# action -> statuses it may start from. Enforced here, not in views.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "assign": ACTIVE_STATUSES,
    "take": ACTIVE_STATUSES,
    "confirm": ACTIVE_STATUSES,
    "dismiss": ACTIVE_STATUSES,
    "refer": (*ACTIVE_STATUSES, FlagStatus.CONFIRMED),
    "reopen": DECIDED_STATUSES,
}


# Four eyes (issue 18): deciding a flag of these severities takes a proposal by one SCC user approved
# by another (audits.services.approvals); the decision itself then carries that approval.
FOUR_EYES_SEVERITIES = (Severity.HIGH, Severity.CRITICAL)
FOUR_EYES_ACTIONS = ("confirm", "dismiss", "refer")


def _require_auditor(actor: User) -> None:
    if actor is None or not access_for_user(actor).can_review:
        raise PermissionDenied


def _approval_use(*, locked: Flag, action: str, actor: User, approval: FlagProposal | None) -> dict:
    """A four-eyes decision is applied only with its approved, unused proposal, by its approver, who is
    not its author; the approval is spent here (once). Returns what the audit event adds."""
    spent = 0
    if approval is not None and approval.pk:
        spent = (
            FlagProposal.objects.filter(
                pk=approval.pk,
                flag=locked,
                action=action,
                status=ProposalStatus.APPROVED,
                decided_by=actor,
                applied_at__isnull=True,
            )
            .exclude(proposed_by=actor)
            .update(applied_at=timezone.now())
        )
    if spent != 1:
        raise FlagTransitionError(
            "a high or critical flag is decided by two people: propose the decision, a second auditor approves it",
            code="four_eyes_required",
        )
    return {"proposal": approval.pk, "proposed_by": approval.proposed_by_id, "approved_by": actor.pk}


def _transition(
    *,
    flag: Flag,
    actor: User,
    action: str,
    ip: str | None,
    changes,
    details: dict | None = None,
    approval: FlagProposal | None = None,
) -> Flag:
    """Apply `changes` (a dict, or a function of the locked flag returning one) if `action` is allowed
    from the flag's current status; logs before/after. Raises PermissionDenied, FlagTransitionError."""
    _require_auditor(actor)
    with transaction.atomic():
        locked = Flag.objects.select_for_update().get(pk=flag.pk)
        if locked.status not in TRANSITIONS[action]:
            raise FlagTransitionError(
                f"«{action}» is not allowed for a flag in status «{locked.status}»", code="illegal_transition"
            )
        if action in FOUR_EYES_ACTIONS and locked.severity in FOUR_EYES_SEVERITIES:
            details = {**(details or {}), **_approval_use(locked=locked, action=action, actor=actor, approval=approval)}
        before = flag_state(locked)
        if callable(changes):
            changes = changes(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save()
        # The operator's risk table shows each flag's status and points: current after every decision.
        risk_recompute(operator_ids=[locked.operator_id])
        audit_event_record(
            actor=actor,
            action=f"flag.{action}",
            obj=locked,
            ip=ip,
            before=before,
            after=flag_state(locked),
            details=details,
        )
    return locked


def flag_assign(*, flag: Flag, actor: User, assignee: AbstractBaseUser, ip: str | None = None) -> Flag:
    """Auditors: give an open or in-review flag to an auditor; it goes into review."""
    if not access_for_user(assignee).is_auditor:
        raise FlagTransitionError("a flag can only be assigned to an auditor", code="assignee_not_auditor")
    return _transition(
        flag=flag,
        actor=actor,
        action="assign",
        ip=ip,
        changes={"assignee": assignee, "status": FlagStatus.IN_REVIEW},
    )


def flag_take(*, flag: Flag, actor: User, ip: str | None = None) -> Flag:
    """Auditors: take an open or in-review flag for oneself."""
    return _transition(
        flag=flag, actor=actor, action="take", ip=ip, changes={"assignee": actor, "status": FlagStatus.IN_REVIEW}
    )


def flag_confirm(
    *, flag: Flag, actor: User, note: str = "", ip: str | None = None, approval: FlagProposal | None = None
) -> Flag:
    """Auditors: the violation is real. Operator staff see confirmed flags and may answer.
    High and critical flags: only with an approved proposal (audits.services.approvals)."""
    with transaction.atomic():
        flag = _transition(
            flag=flag,
            actor=actor,
            action="confirm",
            ip=ip,
            changes={"status": FlagStatus.CONFIRMED, "decided_at": timezone.now(), "decision_reason": note.strip()},
            approval=approval,
        )
        if note.strip() and approval is None:
            flag_note_add(flag=flag, actor=actor, text=note, ip=ip)
    return flag


def flag_dismiss(
    *, flag: Flag, actor: User, reason: str, ip: str | None = None, approval: FlagProposal | None = None
) -> Flag:
    """Auditors: not a violation; a reason is required. Stays dismissed unless its evidence changes materially.
    High and critical flags: only with an approved proposal (audits.services.approvals)."""
    if not reason or not reason.strip():
        raise FlagTransitionError("a reason is required to dismiss a flag", code="reason_required")
    return _transition(
        flag=flag,
        actor=actor,
        action="dismiss",
        ip=ip,
        approval=approval,
        # What the auditor dismissed, read under the lock: a later scan compares with it.
        changes=lambda locked: {
            "status": FlagStatus.DISMISSED,
            "decision_reason": reason.strip(),
            "decided_at": timezone.now(),
            "dismissed_material": locked.material,
        },
    )


def flag_refer(
    *, flag: Flag, actor: User, agency: str, reason: str, ip: str | None = None, approval: FlagProposal | None = None
) -> Flag:
    """Auditors: refer to another agency (which one and why are required).
    High and critical flags: only with an approved proposal (audits.services.approvals)."""
    if agency not in Agency.values:
        raise FlagTransitionError("unknown agency", code="agency_unknown")
    if not reason or not reason.strip():
        raise FlagTransitionError("a reason is required to refer a flag", code="reason_required")
    return _transition(
        flag=flag,
        actor=actor,
        action="refer",
        ip=ip,
        approval=approval,
        changes={
            "status": FlagStatus.REFERRED,
            "referred_to": agency,
            "decision_reason": reason.strip(),
            "decided_at": timezone.now(),
        },
    )


def flag_reopen(*, flag: Flag, actor: User, reason: str = "", ip: str | None = None) -> Flag:
    """Auditors: take back a decision (confirmed, dismissed, referred); the flag goes back into review."""
    return _transition(
        flag=flag,
        actor=actor,
        action="reopen",
        ip=ip,
        # Back to be decided: a new due date from today, by its severity.
        changes=lambda locked: {
            "status": FlagStatus.IN_REVIEW,
            "decided_at": None,
            "dismissed_material": None,
            "due_date": flag_due_date(severity=locked.severity, opened_on=timezone.localdate()),
        },
        details={"reason": reason.strip()} if reason else None,
    )


def flag_note_add(*, flag: Flag, actor: User, text: str, ip: str | None = None) -> FlagNote:
    """Auditors: an internal note on a flag in any status (operator staff never see notes)."""
    _require_auditor(actor)
    if not text or not text.strip():
        raise FlagTransitionError("the note is empty", code="note_empty")
    with transaction.atomic():
        note = FlagNote.objects.create(flag=flag, kind=NoteKind.NOTE, author=actor, text=text.strip())
        audit_event_record(actor=actor, action="flag.note", obj=flag, ip=ip, details={"note": note.pk})
    return note


ANSWER_MAX_BYTES = 10 * 1024 * 1024
ANSWER_EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "txt", "csv", "xlsx", "docx", "doc", "odt", "zip"}


def flag_answer(
    *, flag: Flag, user: User, text: str, attachment: UploadedFile | None = None, ip: str | None = None
) -> FlagNote:
    """Operator staff: answer a confirmed flag of their own operator (text, optional attachment)."""
    if user is None or flag.operator_id not in access_for_user(user).operator_ids:
        raise PermissionDenied
    if flag.status != FlagStatus.CONFIRMED:
        raise FlagTransitionError("only confirmed flags can be answered", code="illegal_transition")
    if not text or not text.strip():
        raise FlagTransitionError("the answer is empty", code="answer_empty")
    name = ""
    if attachment is not None:
        name = (attachment.name or "attachment")[-255:]
        if attachment.size > ANSWER_MAX_BYTES:
            raise FlagTransitionError("the attachment is larger than 10 MB", code="attachment_too_large")
        if name.rsplit(".", 1)[-1].lower() not in ANSWER_EXTENSIONS:
            raise FlagTransitionError("this kind of attachment is not accepted", code="attachment_type")
    with transaction.atomic():
        note = FlagNote(flag=flag, kind=NoteKind.ANSWER, author=user, text=text.strip(), attachment_name=name)
        if attachment is not None:
            note.attachment.save(name, attachment, save=False)
        note.save()
        audit_event_record(
            actor=user, action="flag.answer", obj=flag, ip=ip, details={"note": note.pk, "attachment": name}
        )
    return note

"""Four-eyes decisions (issue 18, item 2): confirming, dismissing or referring a high or critical flag
takes two SCC users. The first proposes (with a reason), a second auditor or supervisor approves it (and
the decision is applied in the same transaction, by the approver, with the proposal as its warrant) or
returns it with a reason. The same person can never do both: refused here, and by a database check.

Pages, admin actions and any API call these functions; each step is one audit event on the flag
(flag.propose, flag.proposal_approved + the decision's own event, flag.proposal_returned).
"""

from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_event_record
from audits.models import (
    Agency,
    Flag,
    FlagProposal,
    FlagStatus,
    Notification,
    NotificationKind,
    ProposalAction,
    ProposalStatus,
)
from audits.services.review import (
    FOUR_EYES_SEVERITIES,
    TRANSITIONS,
    FlagTransitionError,
    _require_auditor,
    flag_confirm,
    flag_dismiss,
    flag_refer,
)
from audits.services.state import User, flag_state


class SamePersonError(FlagTransitionError):
    """The author of a proposal tried to approve or return it."""


def four_eyes_required(*, flag: Flag) -> bool:
    """Whether deciding this flag takes a proposal and a second person."""
    return flag.severity in FOUR_EYES_SEVERITIES


def flag_propose(
    *, flag: Flag, actor: User, action: str, reason: str, agency: str = "", ip: str | None = None
) -> FlagProposal:
    """Auditors: propose to confirm, dismiss or refer a flag (a reason always; an agency to refer).
    One pending proposal per flag; an open flag goes into review."""
    _require_auditor(actor)
    if action not in ProposalAction.values:
        raise FlagTransitionError("unknown decision", code="action_unknown")
    if not reason or not reason.strip():
        raise FlagTransitionError("a reason is required to propose a decision", code="reason_required")
    if action == ProposalAction.REFER and agency not in Agency.values:
        raise FlagTransitionError("unknown agency", code="agency_unknown")
    with transaction.atomic():
        locked = Flag.objects.select_for_update().get(pk=flag.pk)
        if locked.status not in TRANSITIONS[action]:
            raise FlagTransitionError(
                f"«{action}» is not allowed for a flag in status «{locked.status}»", code="illegal_transition"
            )
        if FlagProposal.objects.filter(flag=locked, status=ProposalStatus.PENDING).exists():
            raise FlagTransitionError("a proposal on this flag is already waiting", code="proposal_pending")
        before = flag_state(locked)
        proposal = FlagProposal.objects.create(
            flag=locked,
            action=action,
            reason=reason.strip(),
            agency=agency if action == ProposalAction.REFER else "",
            proposed_by=actor,
        )
        if locked.status == FlagStatus.OPEN:
            locked.status = FlagStatus.IN_REVIEW
            locked.save(update_fields=["status", "updated_at"])
        audit_event_record(
            actor=actor,
            action="flag.propose",
            obj=locked,
            ip=ip,
            before=before,
            after=flag_state(locked),
            details={"proposal": proposal.pk, "decision": action, "reason": proposal.reason, "agency": proposal.agency},
        )
    return proposal


def _pending_locked(*, proposal: FlagProposal, actor: User) -> FlagProposal:
    _require_auditor(actor)
    locked = FlagProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != ProposalStatus.PENDING:
        raise FlagTransitionError("this proposal was already decided", code="proposal_decided")
    if locked.proposed_by_id == actor.pk:
        raise SamePersonError(
            "the author of a proposal cannot approve or return it: a second auditor decides", code="same_person"
        )
    return locked


def proposal_approve(*, proposal: FlagProposal, actor: User, note: str = "", ip: str | None = None) -> Flag:
    """A second auditor or supervisor (never the author) approves: the decision is applied now, by them."""
    with transaction.atomic():
        locked = _pending_locked(proposal=proposal, actor=actor)
        locked.status = ProposalStatus.APPROVED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        locked.save()
        audit_event_record(
            actor=actor,
            action="flag.proposal_approved",
            obj=locked.flag,
            ip=ip,
            details={
                "proposal": locked.pk,
                "decision": locked.action,
                "proposed_by": locked.proposed_by_id,
                "note": locked.decision_note,
            },
        )
        flag = locked.flag
        if locked.action == ProposalAction.CONFIRM:
            return flag_confirm(flag=flag, actor=actor, note=locked.reason, ip=ip, approval=locked)
        if locked.action == ProposalAction.DISMISS:
            return flag_dismiss(flag=flag, actor=actor, reason=locked.reason, ip=ip, approval=locked)
        return flag_refer(flag=flag, actor=actor, agency=locked.agency, reason=locked.reason, ip=ip, approval=locked)


def proposal_return(*, proposal: FlagProposal, actor: User, reason: str, ip: str | None = None) -> FlagProposal:
    """A second auditor or supervisor (never the author) returns the proposal with a reason; the flag stays
    in review and the author is notified."""
    if not reason or not reason.strip():
        raise FlagTransitionError("a reason is required to return a proposal", code="reason_required")
    with transaction.atomic():
        locked = _pending_locked(proposal=proposal, actor=actor)
        locked.status = ProposalStatus.RETURNED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decision_note = reason.strip()
        locked.save()
        Notification.objects.create(
            recipient_id=locked.proposed_by_id,
            kind=NotificationKind.RETURNED,
            flag_id=locked.flag_id,
            proposal=locked,
            text=f"нарушение #{locked.flag_id}: предложение «{locked.get_action_display()}» возвращено: "
            f"{locked.decision_note}"[:500],
        )
        audit_event_record(
            actor=actor,
            action="flag.proposal_returned",
            obj=locked.flag,
            ip=ip,
            details={
                "proposal": locked.pk,
                "decision": locked.action,
                "proposed_by": locked.proposed_by_id,
                "reason": locked.decision_note,
            },
        )
    return locked


def flag_decide(
    *, flag: Flag, actor: User, action: str, reason: str = "", agency: str = "", ip: str | None = None
) -> Flag | FlagProposal:
    """What the flag page's confirm / dismiss / refer buttons do: decide a low or medium flag now; propose
    the decision on a high or critical one (a FlagProposal comes back)."""
    if action not in ProposalAction.values:
        raise FlagTransitionError("unknown decision", code="action_unknown")
    if four_eyes_required(flag=flag):
        return flag_propose(flag=flag, actor=actor, action=action, reason=reason, agency=agency, ip=ip)
    if action == ProposalAction.CONFIRM:
        return flag_confirm(flag=flag, actor=actor, note=reason, ip=ip)
    if action == ProposalAction.DISMISS:
        return flag_dismiss(flag=flag, actor=actor, reason=reason, ip=ip)
    return flag_refer(flag=flag, actor=actor, agency=agency, reason=reason, ip=ip)

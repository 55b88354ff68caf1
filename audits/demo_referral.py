"""Demo data (issue 18 item 5): one flag referred to an agency, so that the portal shows a referral package.

The package itself is built by the casework app when the referral takes effect (its Flag receiver, after the
commit): this module only refers, through the review services, as the demo auditors would.
"""

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Value, When

from audits.models import ACTIVE_STATUSES, Agency, Flag, FlagProposal, FlagStatus, ProposalStatus
from audits.services.approvals import flag_propose, four_eyes_required, proposal_approve
from audits.services.review import FOUR_EYES_SEVERITIES, flag_refer

# Flags whose evidence selects transfers (and so filings) make the fullest package.
PREFERRED_RULES = ("UNKNOWN_PLATFORM", "HIGH_RISK_JURISDICTION", "UNREGISTERED_CLIENT", "DECLARED_TOTALS_MISMATCH")
# Demo steps of the apps above audits (the casework's open data request), registered from their
# AppConfig.ready(); generate_demo_data runs them last, each returning the line it reports (or None).
demo_steps: list[Callable[[], str | None]] = []


def demo_step_register(step: Callable[[], str | None]) -> None:
    if step not in demo_steps:
        demo_steps.append(step)


REASON = "Переводы на непроверенную зарубежную платформу: признаки вывода средств; материалы переданы для проверки."


def demo_referral() -> Flag | None:
    """Refer one open flag to the financial monitoring department (four eyes when its severity needs them:
    the supervisor proposes, the auditor approves). None when there is no open flag or no demo auditor."""
    users = get_user_model().objects
    auditor, supervisor = users.filter(username="auditor").first(), users.filter(username="supervisor").first()
    if auditor is None or supervisor is None or Flag.objects.filter(status=FlagStatus.REFERRED).exists():
        return None
    preference = Case(
        *(When(rule__code=code, then=Value(i)) for i, code in enumerate(PREFERRED_RULES)),
        default=Value(len(PREFERRED_RULES)),
        output_field=IntegerField(),
    )
    flag = (
        Flag.objects.filter(status__in=ACTIVE_STATUSES)
        .annotate(preference=preference)
        .order_by("preference", "severity", "id")
        .first()
    )
    if flag is None:
        return None
    if not four_eyes_required(flag=flag):
        return flag_refer(flag=flag, actor=auditor, agency=Agency.FMD, reason=REASON)
    proposal = flag_propose(flag=flag, actor=supervisor, action="refer", agency=Agency.FMD, reason=REASON)
    return proposal_approve(proposal=proposal, actor=auditor, note="Согласен с передачей.")


PROPOSAL_REASON = (
    "Подтверждаю нарушение: переводы не отражены в отчётности оператора; прошу второго аудитора согласовать."
)


def demo_pending_approval() -> str | None:
    """One approval waiting (issue 18 item 5): the demo supervisor proposes to confirm an open high or
    critical flag and nobody approves it, so the demo auditor's notifications page shows it waiting.
    None when one is already waiting, or there is no such flag or no demo supervisor."""
    supervisor = get_user_model().objects.filter(username="supervisor").first()
    if supervisor is None or FlagProposal.objects.filter(status=ProposalStatus.PENDING).exists():
        return None
    flag = (
        Flag.objects.filter(status=FlagStatus.OPEN, severity__in=FOUR_EYES_SEVERITIES)
        .exclude(proposals__status=ProposalStatus.PENDING)
        .order_by("severity", "id")
        .first()
    )
    if flag is None:
        return None
    proposal = flag_propose(flag=flag, actor=supervisor, action="confirm", reason=PROPOSAL_REASON)
    return f"Approval waiting: proposal #{proposal.pk} to confirm flag #{flag.pk} by {supervisor.username}."


demo_step_register(demo_pending_approval)

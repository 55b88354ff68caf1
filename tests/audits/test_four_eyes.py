"""Four-eyes decisions (issue 18, item 2): confirming, dismissing or referring a high or critical flag
takes a proposal by one SCC user and an approval by another; the same person never does both, on every
path (services, the flag page, the admin; the API has no flag writes). Every step is in the audit log."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from api.services import api_token_create
from auditlog.models import AuditEvent
from auditlog.selectors import audit_log_verify
from audits.models import Flag, FlagProposal, FlagStatus, Notification, NotificationKind, ProposalStatus
from audits.services import (
    FlagTransitionError,
    SamePersonError,
    flag_confirm,
    flag_decide,
    flag_dismiss,
    flag_propose,
    flag_refer,
    flag_reopen,
    proposal_approve,
    proposal_return,
    scan_run,
)
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def op():
    return h.operator()


@pytest.fixture
def flag(op):
    h.file_everything(op, until=date(2025, 5, 1))
    scan_run(now=h.NOW)
    flag = Flag.objects.get(operator=op, rule__code="MISSING_FILING")
    assert flag.severity == "high"
    return flag


@pytest.fixture
def a():
    return h.user("aud_a", group="auditors")


@pytest.fixture
def b():
    return h.user("aud_b", group="auditors")


def _actions(flag) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="audits.flag", object_id=str(flag.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize("severity", ["high", "critical"])
def test_one_person_cannot_decide_a_high_or_critical_flag_directly(flag, a, severity):
    Flag.objects.filter(pk=flag.pk).update(severity=severity)
    for decide in (
        lambda: flag_confirm(flag=flag, actor=a, note="x"),
        lambda: flag_dismiss(flag=flag, actor=a, reason="x"),
        lambda: flag_refer(flag=flag, actor=a, agency="tax", reason="x"),
    ):
        with pytest.raises(FlagTransitionError) as exc:
            decide()
        assert exc.value.code == "four_eyes_required"
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_propose_then_a_second_auditor_approves_and_the_flag_is_confirmed(flag, a, b):
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="no filing for May", ip="10.0.0.1")
    flag.refresh_from_db()
    assert (flag.status, proposal.status) == (FlagStatus.IN_REVIEW, ProposalStatus.PENDING)
    flag = proposal_approve(proposal=proposal, actor=b, note="agreed")
    assert flag.status == FlagStatus.CONFIRMED
    assert flag.decision_reason == "no filing for May"
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.applied_at is not None) == (
        ProposalStatus.APPROVED,
        b,
        True,
    )
    assert _actions(flag)[-3:] == ["flag.propose", "flag.proposal_approved", "flag.confirm"]
    decided = AuditEvent.objects.get(object_id=str(flag.pk), action="flag.confirm")
    assert decided.actor_id == b.pk
    assert decided.details == {"proposal": proposal.pk, "proposed_by": a.pk, "approved_by": b.pk}
    assert audit_log_verify() is None


def test_the_author_can_never_approve_or_return_their_own_proposal(flag, a):
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    with pytest.raises(SamePersonError):
        proposal_approve(proposal=proposal, actor=a)
    with pytest.raises(SamePersonError):
        proposal_return(proposal=proposal, actor=a, reason="changed my mind")
    proposal.refresh_from_db()
    flag.refresh_from_db()
    assert (proposal.status, flag.status) == (ProposalStatus.PENDING, FlagStatus.IN_REVIEW)


def test_a_supervisor_may_be_the_second_person(flag, a):
    sup = h.user("sup", group="supervisors")
    proposal = flag_propose(flag=flag, actor=a, action="refer", reason="pattern", agency="fmd")
    flag = proposal_approve(proposal=proposal, actor=sup)
    assert (flag.status, flag.referred_to) == (FlagStatus.REFERRED, "fmd")


def test_dismissal_of_a_high_flag_takes_two_people_too(flag, a, b):
    proposal = flag_propose(flag=flag, actor=a, action="dismiss", reason="filed on paper")
    flag = proposal_approve(proposal=proposal, actor=b)
    assert flag.status == FlagStatus.DISMISSED
    assert flag.dismissed_material == flag.material


def test_a_returned_proposal_notifies_its_author_and_the_flag_stays_in_review(flag, a, b):
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    with pytest.raises(FlagTransitionError):
        proposal_return(proposal=proposal, actor=b, reason="  ")
    proposal = proposal_return(proposal=proposal, actor=b, reason="check the calendar first")
    flag.refresh_from_db()
    assert (proposal.status, flag.status) == (ProposalStatus.RETURNED, FlagStatus.IN_REVIEW)
    note = Notification.objects.get(recipient=a)
    assert note.kind == NotificationKind.RETURNED
    assert "check the calendar first" in note.text
    assert "flag.proposal_returned" in _actions(flag)
    with pytest.raises(FlagTransitionError):
        proposal_approve(proposal=proposal, actor=b)  # decided already
    again = flag_propose(flag=flag, actor=a, action="confirm", reason="checked")
    assert again.pk != proposal.pk


def test_one_pending_proposal_per_flag_and_reasons_are_required(flag, a, b):
    with pytest.raises(FlagTransitionError):
        flag_propose(flag=flag, actor=a, action="confirm", reason="")
    with pytest.raises(FlagTransitionError):
        flag_propose(flag=flag, actor=a, action="refer", reason="r", agency="nowhere")
    flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    with pytest.raises(FlagTransitionError) as exc:
        flag_propose(flag=flag, actor=b, action="dismiss", reason="no")
    assert exc.value.code == "proposal_pending"


def test_an_approval_is_spent_once(flag, a, b):
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    proposal_approve(proposal=proposal, actor=b)
    flag = flag_reopen(flag=flag, actor=b, reason="new facts")
    proposal.refresh_from_db()
    with pytest.raises(FlagTransitionError) as exc:
        flag_confirm(flag=flag, actor=b, approval=proposal)
    assert exc.value.code == "four_eyes_required"


def test_an_approval_by_the_author_is_refused_even_forged_past_the_service(flag, a):
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    FlagProposal.objects.filter(pk=proposal.pk).update(status=ProposalStatus.APPROVED)  # no decided_by
    proposal.refresh_from_db()
    with pytest.raises(FlagTransitionError):
        flag_confirm(flag=flag, actor=a, approval=proposal)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlagProposal.objects.filter(pk=proposal.pk).update(decided_by=a)  # the database check


def test_operator_staff_and_strangers_cannot_propose_or_approve(flag, a, op):
    staff = h.user("staff", operator=op)
    stranger = h.user("nobody")
    for user in (staff, stranger):
        with pytest.raises(PermissionDenied):
            flag_propose(flag=flag, actor=user, action="confirm", reason="r")
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    for user in (staff, stranger):
        with pytest.raises(PermissionDenied):
            proposal_approve(proposal=proposal, actor=user)


def test_low_and_medium_flags_are_decided_by_one_auditor(flag, a):
    Flag.objects.filter(pk=flag.pk).update(severity="medium")
    flag.refresh_from_db()
    decided = flag_decide(flag=flag, actor=a, action="confirm", reason="clear case")
    assert decided.status == FlagStatus.CONFIRMED
    assert not FlagProposal.objects.exists()


# The flag page.


def test_on_the_flag_page_confirm_proposes_and_only_another_auditor_approves(client, flag, a, b, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    url = reverse("audits:flag_detail", args=[flag.pk])
    client.force_login(a)
    client.post(url, {"action": "confirm", "text": "Отчёт за май не подан"})
    proposal = FlagProposal.objects.get(flag=flag)
    page = client.get(url).content.decode()
    assert "Вы предложили это решение" in page
    client.post(url, {"action": "approve", "proposal": proposal.pk})  # the author: refused with a message
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    client.force_login(b)
    page = client.get(url).content.decode()
    assert 'value="approve"' in page
    response = client.post(url, {"action": "approve", "proposal": proposal.pk}, follow=True)
    assert "утверждено" in response.content.decode()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CONFIRMED


def test_staff_cannot_approve_on_the_flag_page(client, flag, a, op, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    proposal = flag_propose(flag=flag, actor=a, action="confirm", reason="r")
    client.force_login(h.user("staff", operator=op))
    response = client.post(
        reverse("audits:flag_detail", args=[flag.pk]), {"action": "approve", "proposal": proposal.pk}
    )
    assert response.status_code == 404  # an unconfirmed flag does not exist for staff
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


# The admin.


def _staff_user(name, group):
    user = h.user(name, group=group)
    user.is_staff = True
    user.save()
    return user


def test_admin_bulk_confirm_of_a_high_flag_is_refused(client, flag, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    client.force_login(_staff_user("aud_admin", "auditors"))
    client.post(reverse("admin:audits_flag_changelist"), {"action": "confirm", "_selected_action": [flag.pk]})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_admin_approval_by_the_author_is_refused_by_another_it_applies(client, flag, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    author = _staff_user("aud_admin", "auditors")
    second = _staff_user("sup_admin", "supervisors")
    proposal = flag_propose(flag=flag, actor=author, action="confirm", reason="r")
    url = reverse("admin:audits_flagproposal_changelist")
    client.force_login(author)
    client.post(url, {"action": "_approve", "_selected_action": [proposal.pk]})
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    client.force_login(second)
    client.post(url, {"action": "_approve", "_selected_action": [proposal.pk]})
    proposal.refresh_from_db()
    flag.refresh_from_db()
    assert (proposal.status, flag.status) == (ProposalStatus.APPROVED, FlagStatus.CONFIRMED)


# The API.


def test_the_api_has_no_way_to_decide_a_flag(flag, a):
    key = api_token_create(name="aud", user=a, scopes=["flags"]).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/flags/{flag.pk}/"
    assert client.get(url).status_code == 200
    for method in (client.post, client.put, client.patch, client.delete):
        assert method(url, {"status": "confirmed"}, format="json").status_code == 405
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN

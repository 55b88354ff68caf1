"""Issue 18 (items 1, 2, 6) in the permission matrix: the notifications page, the queue's deadline
filters, the four-eyes actions on the flag page and the admin pages of deadlines, proposals and
escalations, for every role. Only the SCC (auditors, supervisors) reaches them; operator staff and
anyone else never see them, and no API path decides a flag or reads proposals."""

import pytest
from django.test import Client

from audits.models import Flag, FlagProposal, FlagStatus, Notification, NotificationKind, ProposalStatus
from audits.services import flag_propose
from tests.api.conftest import client_with
from tests.factories import auditor, supervisor

SESSION_PRINCIPALS = ("auditor", "supervisor", "staff_a", "staff_b", "stranger", "anonymous")
SCC = ("auditor", "supervisor")
ADMIN_PAGES = (
    "/admin/audits/severitydeadline/",
    "/admin/audits/flagproposal/",
    "/admin/audits/flagescalation/",
)


@pytest.fixture
def casework(world, django_user_model):
    """The API world plus an open high flag of operator A with a proposal by a second auditor, and an
    escalation notification for the supervisor."""
    world.supervisor = supervisor()
    world.stranger = django_user_model.objects.create_user("stranger", "s@example.by", "x")
    world.proposer = auditor(username="proposer")
    world.flag_open = Flag.objects.create(
        operator=world.op_a,
        rule=world.flag_a.rule,
        fingerprint="e" * 64,
        subject="s",
        severity="high",
        status=FlagStatus.OPEN,
    )
    world.proposal = flag_propose(flag=world.flag_open, actor=world.proposer, action="confirm", reason="r")
    Notification.objects.create(
        recipient=world.supervisor, kind=NotificationKind.ESCALATION, flag=world.flag_open, text="overdue"
    )
    return world


def _client(w, principal: str) -> Client:
    client = Client()
    user = {
        "auditor": w.auditor,
        "supervisor": w.supervisor,
        "staff_a": w.staff_a,
        "staff_b": w.staff_b,
        "stranger": w.stranger,
    }.get(principal)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("principal", SESSION_PRINCIPALS)
def test_notifications_page_and_queue_deadlines_are_the_sccs_only(casework, principal, settings):
    settings.OTP_REQUIRED_FOR_SCC = False  # the second factor has its own tests
    client = _client(casework, principal)
    for url in ("/notifications/", "/queue/?due=overdue", "/queue/?due=week"):
        response = client.get(url)
        if principal == "anonymous":
            assert response.status_code == 302, url
            assert "/login" in response["Location"]
        elif principal in SCC:
            assert response.status_code == 200, url
        else:
            assert response.status_code in (403, 404), (url, response.status_code)
    post = client.post("/notifications/")
    assert post.status_code == (302 if principal in SCC or principal == "anonymous" else 403)
    home = client.get("/", follow=True).content.decode()
    assert ('href="/notifications/"' in home) == (principal in SCC)
    if principal == "supervisor":
        page = client.get("/notifications/")
        assert page.context["counts"].waiting == 1  # the proposer's, waiting for a second person
        assert page.context["counts"].unread == 0  # marked read by the POST above


@pytest.mark.parametrize("principal", SESSION_PRINCIPALS)
def test_only_a_second_scc_user_approves_on_the_flag_page(casework, principal, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    client = _client(casework, principal)
    url = f"/audits/flags/{casework.flag_open.pk}/"
    response = client.post(url, {"action": "approve", "proposal": casework.proposal.pk})
    proposal = FlagProposal.objects.get(pk=casework.proposal.pk)
    if principal in SCC:
        assert response.status_code == 302
        assert proposal.status == ProposalStatus.APPROVED
        assert str(proposal.decided_by_id) == client.session["_auth_user_id"]
    else:
        # Staff never see an unconfirmed flag: 404 (existence not revealed); anonymous: to the login page.
        assert response.status_code == (302 if principal == "anonymous" else 404)
        assert proposal.status == ProposalStatus.PENDING


@pytest.mark.parametrize("principal", SESSION_PRINCIPALS)
def test_admin_pages_of_deadlines_proposals_and_escalations(casework, principal, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    for user in (casework.auditor, casework.staff_a, casework.stranger):
        user.is_staff = True  # even with admin access, only the SCC's model permissions open them
        user.save()
    client = _client(casework, principal)
    for url in ADMIN_PAGES:
        response = client.get(url)
        if principal in SCC:
            assert response.status_code == 200, (url, response.status_code)
        else:
            assert response.status_code in (302, 403), (url, response.status_code)


@pytest.mark.parametrize(
    "key", ["agency_all", "operator_a", "operator_b", "auditor", "only:flags"], ids=lambda k: k.replace(":", "-")
)
def test_no_api_path_decides_a_flag_or_lists_proposals(casework, key):
    client = client_with(casework.keys[key])
    url = f"/api/v1/flags/{casework.flag_open.pk}/"
    for method in (client.post, client.put, client.patch, client.delete):
        assert method(url, {"status": "confirmed"}, format="json").status_code in (403, 404, 405)
    assert client.get("/api/v1/proposals/").status_code == 404
    assert client.get("/notifications/").status_code in (302, 403)  # pages ignore API tokens
    casework.flag_open.refresh_from_db()
    assert casework.flag_open.status == FlagStatus.IN_REVIEW

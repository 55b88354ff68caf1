"""generate_demo_data leaves a referred flag with its referral package and an open data request (issue 18)."""

from io import StringIO

import pytest
from django.core.management import call_command

from audits.models import Flag, FlagProposal, FlagStatus, ProposalStatus, Rule, Severity
from casework.models import DataRequest, ReferralPackage, RequestStatus
from casework.referrals.package import package_verify
from tests.audits.helpers import seed_catalogue

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_data_has_a_referred_flag_with_its_package():
    if not Rule.objects.exists():  # an earlier transactional test flushed what the migrations seeded
        seed_catalogue()
    out = StringIO()
    call_command("generate_demo_data", transfers=600, operators=6, seed=18, stdout=out)
    flag = Flag.objects.get(status=FlagStatus.REFERRED)
    package = ReferralPackage.objects.get(flag=flag, referred_at=flag.decided_at)
    assert package_verify(bytes(package.content), expected_sha256=package.sha256).ok
    assert f"Flag #{flag.pk} referred" in out.getvalue()
    # ... and an open data request to the demo operator's company.
    request = DataRequest.objects.get(status=RequestStatus.OPEN)
    assert request.operator.memberships.filter(user__username="operator").exists()
    assert f"Data request #{request.pk}" in out.getvalue()
    # ... and one approval waiting: a supervisor's proposal on a high or critical flag, not decided.
    proposal = FlagProposal.objects.get(status=ProposalStatus.PENDING)
    assert proposal.flag.severity in (Severity.HIGH, Severity.CRITICAL)
    assert proposal.proposed_by.username == "supervisor"
    assert proposal.decided_by is None
    assert proposal.flag.status == FlagStatus.IN_REVIEW
    assert f"Approval waiting: proposal #{proposal.pk}" in out.getvalue()

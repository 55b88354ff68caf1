"""The risk table on the dossier and flag pages: no negative ages, statuses and points as they are now."""

from datetime import date

import pytest

from audits.models import Flag, FlagStatus, OperatorRisk
from audits.services import flag_confirm, flag_dismiss, flag_take, scan_run
from tests.audits import helpers as h
from tests.audits.test_scan import _unknown_platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor():
    return h.user("auditor-risk", group="auditors")


def _risky_operator():
    op = h.operator()
    h.file_everything(op, until=date(2025, 3, 1))
    _unknown_platform(op)
    return op


def test_flags_a_scan_opens_are_zero_days_old_not_minus_one():
    op = _risky_operator()
    scan_run()  # the scan's own "now": taken before it opens the flags
    risk = OperatorRisk.objects.get(operator=op)
    assert risk.explanation
    assert all(part["age_days"] >= 0 for part in risk.explanation), risk.explanation


def test_risk_table_follows_each_decision(auditor):
    op = _risky_operator()
    scan_run()
    flag = Flag.objects.filter(operator=op, rule__code="UNKNOWN_PLATFORM").get()

    flag_take(flag=flag, actor=auditor)
    part = next(p for p in OperatorRisk.objects.get(operator=op).explanation if p["flag"] == flag.pk)
    assert part["status"] == FlagStatus.IN_REVIEW

    flag_confirm(flag=flag, actor=auditor)
    risk = OperatorRisk.objects.get(operator=op)
    part = next(p for p in risk.explanation if p["flag"] == flag.pk)
    assert (part["status"], part["points"]) == (FlagStatus.CONFIRMED, "4.50")
    assert sum(float(p["points"]) for p in risk.explanation) == pytest.approx(float(risk.score))


def test_a_dismissed_flag_leaves_the_table(auditor):
    op = _risky_operator()
    scan_run()
    flag = Flag.objects.filter(operator=op, rule__code="UNKNOWN_PLATFORM").get()
    before = OperatorRisk.objects.get(operator=op).score
    flag_dismiss(flag=flag, actor=auditor, reason="платформа проверена вручную")
    risk = OperatorRisk.objects.get(operator=op)
    assert flag.pk not in {p["flag"] for p in risk.explanation}
    assert risk.score < before

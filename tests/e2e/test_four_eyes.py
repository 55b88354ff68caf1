"""In a real browser, with two-factor sessions: auditor A proposes to confirm a high flag, auditor B (the
notifications page shows it waiting) approves it and the flag is confirmed; the author cannot approve
their own proposal. An overdue flag is escalated exactly once however often the daily job runs, and the
supervisor sees it on the notifications page (its screenshot: docs/screenshots/notifications.png)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from auditlog.models import AuditEvent
from audits.models import Flag, FlagEscalation, FlagProposal, Notification, ProposalStatus, Rule
from audits.services import escalations_send
from tests.e2e.conftest import login, screenshot
from tests.factories import OperatorFactory, auditor, supervisor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login_2fa(page, live_server, user) -> None:
    """Password, then a TOTP code on the two-factor page (a confirmed device makes it required)."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    login(page, live_server, user.username)
    assert "/two-factor" in page.url or page.locator("input[name=token]").count() == 1, page.url
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"
    page.locator("input[name=token]").fill(code)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("input[name=token]").count() == 0, "the second factor was not accepted"


def logout(page) -> None:
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_load_state("networkidle")


def _rule(code: str, severity: str) -> Rule:
    return Rule.objects.get_or_create(code=code, defaults={"title": code, "severity": severity})[0]


def test_propose_by_a_approve_by_b_and_an_overdue_flag_escalated_once(page, live_server):
    operator = OperatorFactory(name="ООО «Криптообмен»")
    rule = _rule("MISSING_FILING", "high")
    today = timezone.localdate()
    flag = Flag.objects.create(
        operator=operator,
        rule=rule,
        fingerprint="four-eyes",
        subject="transfer_register 2025-05",
        severity="high",
        evidence={"period_start": "2025-05-01"},
        due_date=today + timedelta(days=5),
    )
    overdue = Flag.objects.create(
        operator=operator,
        rule=_rule("CERTIFICATE_EXPIRED", "critical"),
        fingerprint="overdue",
        subject="certificate",
        severity="critical",
        due_date=today - timedelta(days=7),
    )
    a, b = auditor(username="auditor_a"), auditor(username="auditor_b")
    sup = supervisor(username="supervisor_s", email="sup@example.by")
    url = f"{live_server.url}/audits/flags/{flag.pk}/"

    # Auditor A proposes; the buttons say it is a proposal, and A cannot approve it.
    login_2fa(page, live_server, a)
    page.goto(url)
    page.get_by_label("Заметка / основание").fill("Отчёт за май не подан, напоминания проигнорированы.")
    page.get_by_role("button", name="Предложить подтвердить").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "in_review"
    expect(page.get_by_text("Вы предложили это решение")).to_be_visible()
    assert page.get_by_role("button", name="Утвердить решение").count() == 0
    logout(page)

    # Auditor B sees it waiting (header count, notifications page) and approves.
    login_2fa(page, live_server, b)
    count = page.locator("a.notifications-link .count")
    assert count.inner_text().strip() == "1"
    page.get_by_role("link", name="Уведомления").click()
    waiting = page.locator("#waiting tbody tr[data-proposal]")
    assert waiting.count() == 1
    assert "auditor_a" in waiting.first.inner_text()
    waiting.first.get_by_role("link", name=str(flag.pk)).click()
    page.get_by_label("Комментарий (для возврата обязателен)").fill("Согласен.")
    page.get_by_role("button", name="Утвердить решение").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "confirmed"
    flag.refresh_from_db()
    assert flag.status == "confirmed"
    proposal = FlagProposal.objects.get(flag=flag)
    assert (proposal.proposed_by, proposal.decided_by, proposal.status) == (a, b, ProposalStatus.APPROVED)
    actions = list(AuditEvent.objects.filter(object_id=str(flag.pk)).order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["flag.propose", "flag.proposal_approved", "flag.confirm"]
    logout(page)

    # The daily job, twice: the overdue critical flag is escalated once, to the supervisor.
    assert escalations_send() == 1
    assert escalations_send() == 0
    assert FlagEscalation.objects.filter(flag=overdue).count() == 1
    assert [m.to for m in mail.outbox] == [["sup@example.by"]]
    assert Notification.objects.filter(recipient=sup, flag=overdue).count() == 1

    # The supervisor's notifications page: the escalation, and a proposal waiting (for the screenshot).
    FlagProposal.objects.create(flag=overdue, action="dismiss", reason="Свидетельство продлено.", proposed_by=a)
    login_2fa(page, live_server, sup)
    assert page.locator("a.notifications-link .count").inner_text().strip() == "2"
    page.get_by_role("link", name="Уведомления").click()
    assert page.locator("#escalations li.notification-escalation").count() == 1
    assert f"Нарушение №{overdue.pk}" in page.locator("#escalations").inner_text()
    assert page.locator("#waiting tbody tr[data-proposal]").count() == 1
    screenshot(page, "notifications")
    page.get_by_role("button", name="Отметить всё прочитанным").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("a.notifications-link .count").inner_text().strip() == "1"

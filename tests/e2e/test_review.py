"""In a real browser: an auditor finds the worst operator in the queue and confirms its flag with a note.
(The README's screenshots of these pages come from test_screenshots.py, with demo data.)"""

import pytest
from playwright.sync_api import expect

from auditlog.models import AuditEvent
from audits.models import Flag, OperatorRisk, Rule
from tests.e2e.conftest import login
from tests.factories import OperatorFactory, auditor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_auditor_confirms_the_worst_operators_flag_with_a_note(page, live_server):
    from django.utils import timezone

    calm, worst = OperatorFactory(name="ООО «Спокойный»"), OperatorFactory(name="ООО «Худший»")
    rule = Rule.objects.get_or_create(
        code="UNKNOWN_PLATFORM", defaults={"title": "Непроверенная платформа", "severity": "medium"}
    )[0]
    Flag.objects.create(
        operator=calm,
        rule=rule,
        fingerprint="calm",
        subject="unverified platform a",
        severity="medium",
        evidence={"platform": "a"},
    )
    flag = Flag.objects.create(
        operator=worst,
        rule=rule,
        fingerprint="worst",
        subject="unverified platform garantex",
        severity="medium",  # one auditor decides it (high: two people, tests/e2e/test_four_eyes.py)
        evidence={"platform": "garantex", "transfer_count": 12},
    )
    OperatorRisk.objects.create(operator=worst, score=90, computed_at=timezone.now())
    OperatorRisk.objects.create(operator=calm, score=5, computed_at=timezone.now())
    user = auditor(is_staff=True)

    login(page, live_server, user.username)
    page.get_by_role("link", name="Очередь").click()
    first_row = page.locator("table.grid tbody tr").first
    assert "ООО «Худший»" in first_row.inner_text()  # riskiest first
    first_row.get_by_role("link", name="ООО «Худший»").click()
    page.get_by_role("link", name="Непроверенная платформа garantex").click()  # the subject from the evidence
    page.get_by_label("Заметка / основание").fill("Платформа не проверена, переводы продолжаются.")
    page.get_by_role("button", name="Подтвердить").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "confirmed"
    expect(page.locator("ul.notes").get_by_text("Платформа не проверена, переводы продолжаются.")).to_be_visible()
    assert page.locator("table.grid td[title='flag.confirm']", has_text="Подтверждено").count() >= 1
    flag.refresh_from_db()
    assert flag.status == "confirmed"
    assert AuditEvent.objects.filter(object_id=str(flag.pk), action="flag.confirm").exists()


def test_dashboard_draws_its_charts_from_local_assets(page, live_server):
    user = auditor()
    login(page, live_server, user.username)
    expect(page.get_by_role("heading", name="Сводка")).to_be_visible()

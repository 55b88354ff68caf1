"""The screening review page in real Chromium with the demo data (issue 19 item 2): the demo list's
garantex hit is confirmed by an auditor in the browser, the platform becomes sanctioned from its
listing date, and the scan flags the operators that sent money there (SANCTIONED_COUNTERPARTY).
Screenshot of the review list: docs/screenshots/screening.png."""

from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command

from audits.models import Flag
from audits.services import scan_run
from outflows.models import CrossBorderTransfer
from screening.models import Hit, HitStatus, SanctionedPlatform
from tests.audits.helpers import seed_catalogue
from tests.e2e.conftest import SCREENSHOTS, TEST_PASSWORD, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    seed_catalogue()  # a transactional test starts without the rules the migrations seeded
    import_module("audits.migrations.0008_rule_titles_per_language").fill(apps, None)
    import_module("audits.migrations.0014_seed_sanctioned_counterparty").seed(apps, None)
    call_command("generate_demo_data", transfers=1500, operators=12, seed=2025, verbosity=0)
    user = User.objects.get(username="auditor")
    user.set_password(TEST_PASSWORD)
    user.save()


def test_reviewer_confirms_the_demo_garantex_hit_and_the_scan_flags_its_senders(page, live_server, demo):
    hit = Hit.objects.get(kind="platform", subject="garantex")
    assert hit.status == HitStatus.OPEN
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, "auditor")
    page.goto(f"{live_server.url}/screening/")
    row = page.locator(f'tr[data-hit="{hit.pk}"]')
    row.get_by_text("demo-garantex").wait_for()
    assert page.locator("html").get_attribute("lang") == "ru"
    assert row.locator('input[name="listed_on"]').input_value() == "2022-04-05"  # from the list's Sanction
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "screening.png"), full_page=True)
    row.get_by_role("button", name="Подтвердить").click()
    page.wait_for_load_state("networkidle")
    page.locator('#sanctioned li[data-platform="garantex"]').wait_for()
    sanction = SanctionedPlatform.objects.get(platform__slug="garantex")
    assert str(sanction.listed_on) == "2022-04-05"
    scan_run()
    senders = set(CrossBorderTransfer.objects.filter(platform__slug="garantex").values_list("operator_id", flat=True))
    assert senders, "the demo has transfers to garantex"
    flagged = set(Flag.objects.filter(rule__code="SANCTIONED_COUNTERPARTY").values_list("operator_id", flat=True))
    assert flagged == senders

"""The dashboard shows the canonical, investor-level and unit-based shares side by side (issue 17 item 3),
in real Chromium with the demo data; screenshot docs/screenshots/dashboard-variants.png."""

from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from outflows.models import OutflowRun
from tests.audits.helpers import seed_catalogue
from tests.e2e.conftest import SCREENSHOTS, TEST_PASSWORD, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dashboard_shows_the_three_variants_of_the_demo_run(page, live_server):
    seed_catalogue()
    import_module("audits.migrations.0008_rule_titles_per_language").fill(apps, None)
    call_command("generate_demo_data", transfers=1500, operators=12, seed=2025, verbosity=0)
    user = User.objects.get(username="auditor")
    user.set_password(TEST_PASSWORD)
    user.save()
    run = OutflowRun.objects.filter(status="finished").order_by("-finished_at").first()
    assert run.variants["unit_based"]["price_effect"] not in (None, "0.000000")  # the demo's prices move
    login(page, live_server, "auditor")
    page.goto(f"{live_server.url}/dashboard/")
    section = page.locator("#variants")
    for code in ("canonical", "investor_level", "unit_based"):
        expect(section.locator(f'tr[data-variant="{code}"]')).to_be_visible()
    expect(section.get_by_text("гасит самый ранний открытый вывод инвестора")).to_be_visible()
    expect(section.locator("[data-price-effect]")).to_contain_text("п. п.")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SCREENSHOTS / "dashboard-variants.png"))
    page.goto(f"{live_server.url}/outflows/runs/{run.pk}/#variants")
    expect(page.locator("#variants").get_by_text("Сверхвозврат отдельно")).to_be_visible()

"""The drill-down in real Chromium with demo data (issue 17 item 1): from a stats row and from a bar of the
dashboard's chart to the transfers of the cell, each with what came back to it; the README's screenshot."""

from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from tests.audits.helpers import seed_catalogue
from tests.e2e.conftest import TEST_PASSWORD, login
from tests.e2e.test_screenshots import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The centre of the dashboard trend chart's first bar with a value, in the viewport (scrolled into it).
FIRST_BAR = """() => {
  const canvas = document.getElementById("trend-chart");
  canvas.scrollIntoView({block: "center"});
  const chart = Chart.getChart(canvas);
  const bars = chart.getDatasetMeta(0).data;
  const i = chart.data.datasets[0].data.findIndex(v => v !== null && v > 0);
  const box = canvas.getBoundingClientRect();
  return {x: box.left + bars[i].x, y: box.top + (bars[i].y + bars[i].base) / 2, cohort: chart.data.labels[i]};
}"""


@pytest.fixture
def demo(transactional_db):
    seed_catalogue()
    import_module("audits.migrations.0008_rule_titles_per_language").fill(apps, None)
    call_command("generate_demo_data", transfers=1500, operators=12, seed=2025, verbosity=0)
    user = User.objects.get(username="auditor")
    user.set_password(TEST_PASSWORD)
    user.save()


def test_from_a_stats_row_and_a_chart_bar_to_the_transfers(page, live_server, demo):
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, "auditor")
    page.goto(f"{live_server.url}/outflows/stats/?dimension=operator&cohort=all")
    page.locator('a[data-drilldown="unreturned_value_byn"]').first.click()
    expect(page.locator("h1")).to_have_text("Невозврат: переводы ячейки")
    expect(page.locator("tr[data-transfer]").first).to_be_visible()
    assert page.locator("tr[data-transfer]").count() > 0
    assert page.locator("[data-checked='0']").count() == 0
    screenshot(page, "drilldown")

    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_load_state("networkidle")
    bar = page.evaluate(FIRST_BAR)
    page.mouse.click(bar["x"], bar["y"])
    page.wait_for_url("**/outflows/drilldown/**")
    assert f"cohort={bar['cohort']}" in page.url
    expect(page.locator("dl.cell")).to_contain_text(bar["cohort"])

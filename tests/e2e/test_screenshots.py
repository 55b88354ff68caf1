"""The main pages in Russian with demo data, at a 1366 px laptop and a 768 px tablet (issue 16 item 8).

Loads the demo data (generate_demo_data, small), then in real Chromium: no horizontal overflow on the
queue, flag list, dossier and the other main pages at either width, every filter's label on the same
line as its control; and the README's screenshots (docs/screenshots/) of every main page, populated
and in Russian, at 1366 px (and the queue and flag list at 768 px).
"""

from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command

from audits.models import Flag, OperatorRisk
from operators.models import FilingStatus, RegistrationFiling
from outflows.models import OutflowRun
from tests.audits.helpers import seed_catalogue
from tests.e2e.conftest import SCREENSHOTS, TEST_PASSWORD, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLET_SHOTS = {"/queue/": "queue-768", "/audits/flags/": "flags-768"}
RICH_EVIDENCE = ("HIGH_RISK_JURISDICTION", "UNKNOWN_PLATFORM", "UNREGISTERED_CLIENT", "HIGH_NON_RETURN")
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}

# Label and control of a filter share a line box: their vertical extents overlap.
FILTERS_ON_ONE_LINE = """() => {
  const bad = [];
  for (const label of document.querySelectorAll("form.filters label")) {
    const control = label.control || (label.htmlFor && document.getElementById(label.htmlFor));
    if (!control || control.type === "hidden" || control.type === "checkbox") continue;
    const a = label.getBoundingClientRect(), b = control.getBoundingClientRect();
    const text = label.firstChild && label.firstChild.nodeType === 3 ? label.firstChild : null;
    let top = a.top, bottom = a.bottom;
    if (text && label.contains(control)) {  // a label wrapping its control: its own text's box
      const range = document.createRange(); range.selectNodeContents(text);
      const r = range.getBoundingClientRect(); top = r.top; bottom = r.bottom;
    }
    if (bottom <= b.top || top >= b.bottom) bad.push(label.textContent.trim());
  }
  return bad;
}"""


@pytest.fixture
def demo(transactional_db):
    seed_catalogue()  # a transactional test starts without the rules a migration seeded
    import_module("audits.migrations.0008_rule_titles_per_language").fill(apps, None)  # and their titles
    call_command("generate_demo_data", transfers=1500, operators=12, seed=2025, verbosity=0)
    for name in ("auditor", "operator"):
        user = User.objects.get(username=name)
        user.set_password(TEST_PASSWORD)
        user.save()
    return {
        "worst": OperatorRisk.objects.order_by("-score").select_related("operator").first().operator,
        # a flag whose evidence has figures, money and dates to show
        "flag": Flag.objects.filter(rule__code__in=RICH_EVIDENCE).order_by("rule__code", "pk").first()
        or Flag.objects.order_by("pk").first(),
        "run": OutflowRun.objects.order_by("-pk").first(),
    }


def screenshot(page, name: str, *, max_height: int = 1400) -> None:
    """The page from its top, at most `max_height` px tall (a long list shows its first screens)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), max_height)
    width = page.viewport_size["width"]
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height}
    )


def _fits(page) -> tuple[int, int]:
    return page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["1366", "768"])
def test_main_pages_fit_the_screen(browser, live_server, demo, viewport):
    context = browser.new_context(viewport=viewport, locale="ru-RU")
    page = context.new_page()
    try:
        login(page, live_server, "auditor")
        paths = (
            "/queue/",
            "/audits/flags/",
            f"/operators/{demo['worst'].pk}/",
            "/dashboard/",
            f"/audits/flags/{demo['flag'].pk}/",
            "/outflows/transfers/",
            "/outflows/stats/?dimension=platform",
            f"/outflows/runs/{demo['run'].pk}/",
            "/operators/",
            "/filings/",
        )
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            scroll_width, width = _fits(page)
            assert scroll_width <= width, f"{path} overflows at {viewport['width']} px: {scroll_width} > {width}"
            assert page.evaluate(FILTERS_ON_ONE_LINE) == [], f"{path}: a filter's label left its control"
            if viewport is TABLET and path in TABLET_SHOTS:
                screenshot(page, TABLET_SHOTS[path], max_height=1200)
        chart = page.locator("#operator-trend-chart")
        if chart.count():
            assert chart.bounding_box()["height"] <= 320  # the dossier's bar chart: a sane height
    finally:
        context.close()


def test_main_pages_in_russian_with_demo_data(browser, live_server, demo):
    context = browser.new_context(viewport=LAPTOP, locale="ru-RU")
    page = context.new_page()
    try:
        login(page, live_server, "auditor")
        pages = [
            ("dashboard", "/dashboard/"),
            ("queue", "/queue/"),
            ("flags", "/audits/flags/"),
            ("flag", f"/audits/flags/{demo['flag'].pk}/"),
            ("dossier", f"/operators/{demo['worst'].pk}/"),
            ("transfers", "/outflows/transfers/"),
            ("stats", "/outflows/stats/?dimension=platform"),
            ("run", f"/outflows/runs/{demo['run'].pk}/"),
            ("registry", "/operators/"),
        ]
        for name, path in pages:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            assert page.locator("html").get_attribute("lang") == "ru"
            assert page.locator("table.grid tbody tr, .tile").count() > 0, f"{name} is empty"
            screenshot(page, name)
        page.context.clear_cookies()

        login(page, live_server, "operator")
        page.goto(f"{live_server.url}/filings/")
        page.wait_for_load_state("networkidle")
        screenshot(page, "upload")
        rejected = RegistrationFiling.objects.filter(status=FilingStatus.REJECTED, error_count__gt=0)
        mine = rejected.filter(operator__memberships__user__username="operator").first()
        filing = mine or rejected.first()
        if mine is None:  # the demo operator's staff see their own filings only: look as the auditor
            page.context.clear_cookies()
            login(page, live_server, "auditor")
        page.goto(f"{live_server.url}/filings/{filing.pk}/")
        page.wait_for_load_state("networkidle")
        assert page.locator("table.errors tbody tr").count() > 0
        screenshot(page, "filing-errors")
    finally:
        context.close()

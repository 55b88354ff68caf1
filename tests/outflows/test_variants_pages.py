"""The variants beside the share on the dashboard and the run page, the excess beside it on the statistics page,
the cross-tab rows by name (issue 17 items 2, 3); who may see them."""

import re
from html import unescape

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from outflows.services import LOCK_KEY, outflow_run_compute
from tests.factories import auditor, operator_staff
from tests.outflows.factories import UNP_A, operator
from tests.outflows.test_variants_run import LATE, _example

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def run():
    _example()
    cache.delete(LOCK_KEY)
    return outflow_run_compute(as_of=LATE)


@pytest.fixture
def scc() -> Client:
    client = Client()
    client.force_login(auditor())
    return client


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_dashboard_shows_the_three_variants_with_a_sentence_each(run, scc):
    page = scc.get(reverse("dashboard"))
    html = page.content.decode()
    shown = text(page)
    for code in ("canonical", "investor_level", "unit_based"):
        assert f'data-variant="{code}"' in html
    # canonical 84,0 %, investor-level 44,0 %, unit-based 60,0 %; price effect 24 points
    assert re.search(r"Каноническая .*?84,0\s%", shown)
    assert re.search(r"По инвестору .*?44,0\s%", shown)
    assert re.search(r"По единицам актива .*?60,0\s%", shown)
    assert "гасит самый ранний открытый вывод инвестора" in shown
    assert re.search(r"Эффект цены .*?\+24,0\sп\. п\.", shown)


def test_run_page_lists_operators_and_excess_apart(run, scc):
    shown = text(scc.get(reverse("outflows:run", args=[run.pk])))
    assert re.search(rf"{UNP_A} 80,0\s% 30,0\s% 50,0\s% \+30,0\sп\. п\.", shown)
    assert "Сверхвозврат отдельно" in shown
    assert re.search(r"По платформам .*?100,00\sBYN", shown)


def test_stats_page_shows_excess_beside_the_share_and_names_cross_tab_keys(run, scc):
    page = scc.get(reverse("outflows:stats"), {"run": run.pk, "dimension": "platform", "cohort": "all"})
    assert page.content.decode().count("data-excess") == 1  # alpha: one stat row (beta has no outbound)
    shown = text(scc.get(reverse("outflows:stats"), {"run": run.pk, "dimension": "operator", "cohort": "all"}))
    assert re.search(r"Сверхвозврат .*?100,00\sBYN", shown)
    name = operator(UNP_A).name
    shown = text(scc.get(reverse("outflows:stats"), {"run": run.pk, "dimension": "operator_platform"}))
    assert f"{name} {UNP_A} × Alpha" in shown
    shown = text(scc.get(reverse("outflows:stats"), {"run": run.pk, "dimension": "kyc"}))
    assert "Расширенная" in shown
    assert "нет в реестре клиентов" in shown


def test_operator_staff_see_no_run_page(run):
    client = Client()
    client.force_login(operator_staff(operator(UNP_A)))
    assert client.get(reverse("outflows:run", args=[run.pk])).status_code == 403


def test_operator_platform_row_links_to_exactly_its_transfers(run, scc):
    page = scc.get(reverse("outflows:stats"), {"run": run.pk, "dimension": "operator_platform", "cohort": "all"})
    link = re.search(r'href="([^"]+)" data-figure="outbound_count" data-value="(\d+)"', page.content.decode())
    listed = scc.get(unescape(link.group(1)))
    assert listed.context["page"].total.value == int(link.group(2)) == 2  # A's two outbounds to alpha

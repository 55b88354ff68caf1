"""Each count or sum on the dashboard, queue, dossier, statistics and run pages links to a list whose
total (data-total) or sum (data-sum) equals it (issue 16, item 2); top operators lead to the dossier;
the statistics page offers its keys to pick."""

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from audits.services import scan_run
from operators.models import FilingStatus
from outflows.models import OutflowStat
from outflows.services import outflow_run_compute
from tests.audits import helpers as h
from tests.audits.test_evidence_links import list_figures
from tests.factories import auditor

pytestmark = pytest.mark.django_db

FIGURE = re.compile(r'<a href="([^"]+)" data-figure="([^"]+)" data-value="([^"]*)">')


def at(y, m, d, hh=12):
    return datetime(y, m, d, hh, tzinfo=UTC)


@pytest.fixture
def world():
    """Two operators with matured, pending and returned transfers to three platforms, a run and a scan."""
    a, b = h.operator(), h.operator()
    shady, binance, irx = h.platform("shady", verified=False), h.platform("binance"), h.platform("irx", country="IR")
    for op, scale in ((a, 1), (b, 3)):
        f = h.filing(op, start=date(2025, 3, 1))
        h.transfers(op, f, binance, [(at(2025, 3, 2), "OUT", "i1", 100 * scale), (at(2025, 3, 9), "IN", "i1", 30)])
        h.transfers(op, f, shady, [(at(2025, 4, 2), "OUT", "i2", 50 * scale)] * 2)
        h.transfers(op, f, irx, [(at(2025, 5, 30), "OUT", "i3", 70), (at(2025, 6, 10), "OUT", "i4", 5)])
    for day in (2, 3):  # two rejected attempts at April's register: the dossier's timeline counts them
        h.filing(b, start=date(2025, 4, 1), status=FilingStatus.REJECTED, submitted=at(2025, 5, day))
    run = outflow_run_compute(as_of=h.NOW, window_days=30)
    scan_run(now=h.NOW)
    return {"a": a, "b": b, "run": run}


def check_figures(client, url: str) -> list[str]:
    """Follow every figure link of a page; each list's total (counts) or sum (amounts) equals the figure."""
    response = client.get(url)
    assert response.status_code == 200, url
    checked = []
    for href, key, value in FIGURE.findall(response.content.decode()):
        total, value_sum = list_figures(client, html.unescape(href))
        if "value" in key or "byn" in key:
            assert value_sum == Decimal(value), (url, key, href)
        else:
            assert total == int(value), (url, key, href)
        checked.append(key)
    return checked


def test_dashboard_figures_lead_to_their_rows(client, world):
    client.force_login(auditor())
    checked = check_figures(client, reverse("dashboard"))
    assert {"outbound_value_byn", "pending_outbound_value_byn", "open_flags", "flags"} <= set(checked)


def test_dashboard_top_operators_lead_to_the_dossier(client, world):
    client.force_login(auditor())
    body = client.get(reverse("dashboard")).content.decode()
    for op in (world["a"], world["b"]):
        assert f'href="{reverse("operators:detail", args=[op.pk])}"' in body
    assert "?dimension=operator&amp;key=" not in body


def test_queue_counts_lead_to_exactly_those_flags(client, world):
    client.force_login(auditor())
    assert check_figures(client, reverse("queue")).count("flags") == 2
    for query in ("rule=UNKNOWN_PLATFORM", "severity=high", "assignee=none", "status=open", "due=week"):
        check_figures(client, f"{reverse('queue')}?{query}")
    assert "flags" in check_figures(client, reverse("queue") + "?rule=UNKNOWN_PLATFORM")


def test_dossier_figures_lead_to_their_rows(client, world):
    client.force_login(auditor())
    checked = check_figures(client, reverse("operators:detail", args=[world["b"].pk]))
    assert checked.count("destination_count") == 3
    assert "outbound_value_byn" in checked
    assert "rejected_filings" in checked


@pytest.mark.parametrize("dimension", ["overall", "operator", "platform", "country"])
def test_statistics_rows_lead_to_their_transfers(client, world, dimension):
    client.force_login(auditor())
    rows = OutflowStat.objects.filter(run=world["run"], dimension=dimension).count()
    checked = check_figures(client, f"{reverse('outflows:stats')}?dimension={dimension}")
    assert checked.count("outbound_count") == rows > 0


def test_run_input_rows_lead_to_the_transfers_read(client, world):
    client.force_login(auditor())
    run_page = reverse("outflows:run", args=[world["run"].pk])
    assert check_figures(client, run_page) == ["input_rows"] * 2  # and in the list


def test_statistics_page_offers_the_keys_to_pick(client, world):
    client.force_login(auditor())
    body = client.get(f"{reverse('outflows:stats')}?dimension=operator").content.decode()
    assert 'list="stat-keys"' in body
    for op in (world["a"], world["b"]):
        assert f'<option value="{op.unp}">{html.escape(op.name)} ({op.unp})</option>' in body
    platforms = client.get(f"{reverse('outflows:stats')}?dimension=platform").content.decode()
    assert '<option value="shady">Shady (shady)</option>' in platforms

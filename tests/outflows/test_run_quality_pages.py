"""The dashboard and the run page show the interval and the registers' coverage beside the figure (issue 17)."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import Scope
from api.services import api_token_create
from outflows.services import outflow_run_compute
from tests.audits import helpers as h
from tests.factories import auditor
from tests.outflows.test_coverage import _operator_with_gaps

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    op = _operator_with_gaps()
    return op, outflow_run_compute(as_of=h.NOW, window_days=30)


def test_dashboard_shows_interval_coverage_and_the_operators_with_gaps(client, run):
    op, found = run
    client.force_login(auditor())
    body = client.get(reverse("dashboard")).content.decode()
    overall = found.uncertainty["overall"]
    assert f'data-interval-low="{overall["low"]}"' in body
    assert 'data-complete-share="0.750000"' in body
    assert "75,0\xa0%" in body  # Russian share format
    [gap] = re.findall(r'<li data-gap="(\d+)">(.*?)</li>', body, re.S)
    assert gap[0] == op.unp
    assert "не поданы за 1\xa0мес., с опозданием за 1\xa0мес." in gap[1]
    assert "95-процентный интервал" in body


def test_run_page_lists_every_operator_month_state(client, run):
    op, found = run
    client.force_login(auditor())
    body = client.get(reverse("outflows:run", args=[found.pk])).content.decode()
    row = re.search(rf'<tr data-operator="{op.unp}">(.*?)</tr>', body, re.S).group(1)
    assert "не поданы: 04.2025; поданы с опозданием: 02.2025" in body  # months as mm.yyyy
    states = dict(re.findall(r'data-month="([\d.]+)" data-state="(\w*)"', row))
    assert states == {
        "01.2025": "accepted",
        "02.2025": "late",
        "03.2025": "superseded",
        "04.2025": "missing",
        "05.2025": "accepted",
        "06.2025": "not_due",
    }


def test_english_page_translates_the_coverage(client, run):
    client.force_login(auditor())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("dashboard")).content.decode()
    assert "Register coverage: 75.0%" in body
    assert "95% interval" in body
    assert "not filed for 1 months, late for 1 months" in body


def test_api_gives_the_runs_interval_and_coverage(run):
    op, found = run
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(name='NB', scopes=[Scope.OUTFLOWS]).key}")
    body = client.get(f"/api/v1/outflows/runs/{found.pk}/").json()
    assert body["uncertainty"]["overall"] == found.uncertainty["overall"]
    assert body["coverage"]["operators"][op.unp]["missing"] == ["2025-04"]
    assert body["coverage"]["complete_share"] == "0.750000"

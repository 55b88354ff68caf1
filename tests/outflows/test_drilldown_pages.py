"""The drill-down page, its export and its API endpoint (issue 17 item 1): linked from every stats row,
the dashboard and the dossier; the listed transfers add up to the cell; who may see it; changed inputs said."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import Scope
from api.services import api_token_create
from auditlog.models import AuditEvent
from operators.models import FilingKind, FilingStatus, RegistrationFiling
from outflows import cells, drill_views, drilldown, engine
from outflows.models import CrossBorderTransfer
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.factories import auditor, operator_staff
from tests.outflows.factories import BASE, UNP_A, add_transfers, operator, random_transfers, transfer

pytestmark = pytest.mark.django_db

AS_OF = BASE + dt.timedelta(days=500)


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def run():
    add_transfers(*random_transfers(120, seed=11))
    cache.delete(LOCK_KEY)
    return outflow_run_compute(as_of=AS_OF)


@pytest.fixture
def scc() -> Client:
    client = Client()
    client.force_login(auditor())
    return client


def _links(html: str, attribute: str = "data-drilldown") -> list[str]:
    return [unescape(m) for m in re.findall(r'<a href="([^"]+)" ' + attribute, html)]


def test_every_stats_row_links_to_its_cell_which_adds_up(scc, run):
    seen = set()
    for dimension in sorted(set(run.stats.values_list("dimension", flat=True))):
        for number in range(1, 100):  # the statistics page's pages of 50 rows
            response = scc.get(reverse("outflows:stats"), {"dimension": dimension, "run": run.pk, "page": number})
            found = {link for link in _links(response.content.decode()) if "drilldown" in link}
            if found <= seen:
                break
            seen.update(found)
    assert len(seen) == run.stats.count()
    for link in seen:
        page = scc.get(link)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'data-checked="1"' in html, link  # every cell here fits one page: checked against its row
        assert 'data-inputs-changed="1"' not in html


def test_page_lists_each_outbound_with_its_allocation(scc):
    add_transfers(
        transfer("OUT", "100", day=0, external_id="first"),
        transfer("OUT", "100", day=300, external_id="second"),
        transfer("IN", "100", day=400, external_id="back"),
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=1000))
    html = scc.get(reverse("outflows:drilldown"), {"run": run.pk, "dimension": "operator", "key": UNP_A}).content
    html = html.decode()
    assert html.count("data-transfer=") == 2
    assert 'data-returned="0.00" data-matured="1"' in html
    assert 'data-returned="100.00" data-matured="1"' in html
    assert "09.01.2025" in html  # the first one's window closes 365 days after 10.01.2024 (a leap year)
    assert "100,00" in html
    assert 'data-curve="0.00 0.00 100.00 100.00"' in html  # back 100 days after the second: within 180 and 365
    stored = re.findall(r'data-figure="returned_within" data-value="([^"]+)"', html)
    shown = re.findall(r'data-shown="returned_within" data-value="([^"]+)"', html)
    assert stored == shown == ["0.00", "0.00", "100.00", "100.00"]
    pending = scc.get(reverse("outflows:drilldown"), {"run": run.pk, "dimension": "overall", "state": "pending"})
    assert "data-transfer=" not in pending.content.decode()


def test_bad_cells_are_404_and_others_are_refused(run):
    scc = Client()
    scc.force_login(auditor())
    url = reverse("outflows:drilldown")
    for params in ({"dimension": "nope"}, {"cohort": "2025-13"}, {"run": "999999"}, {"state": "x"},
                   {"dimension": "operator"}, {"dimension": "operator", "key": "a\x00b"}):  # fmt: skip
        assert scc.get(url, params).status_code in (400, 404), params  # NUL: refused by a middleware (400)
    staff = Client()
    staff.force_login(operator_staff(operator(UNP_A)))
    assert staff.get(url).status_code == 403
    assert staff.get(reverse("outflows:drilldown_export", args=["csv"])).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


def test_export_lists_the_cell_and_adds_up(scc, run):
    stat = run.stats.get(dimension="overall", key="all", cohort="all")
    response = scc.get(reverse("outflows:drilldown_export", args=["csv"]), {"run": run.pk, "dimension": "overall"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header[8] == "Вернулось, BYN"
    matured = [r for r in rows if r[10] == "да"]
    assert len(matured) == stat.outbound_count
    total = sum(Decimal(r[8].replace(",", ".")) for r in matured)
    assert total == stat.returned_value_byn
    assert sum(Decimal(r[7].replace(",", ".")) for r in matured) == stat.outbound_value_byn
    # The return curve, one column per horizon of the engine, adds up to the stored row's too.
    assert header[13:] == [f"Вернулось за {days} дн., BYN" for days in engine.CURVE_DAYS]
    for column, days in enumerate(engine.CURVE_DAYS, start=13):
        assert sum(Decimal(r[column].replace(",", ".")) for r in matured) == getattr(stat, f"returned_{days}d_byn")
    assert any(Decimal(r[13].replace(",", ".")) for r in matured)  # the data has returns within 30 days
    event = AuditEvent.objects.filter(action="export.outflow_drilldown").get()
    assert event.details["rows"] == len(rows)
    xlsx = scc.get(reverse("outflows:drilldown_export", args=["xlsx"]), {"run": run.pk, "dimension": "overall"})
    assert xlsx.status_code == 200


def test_changed_inputs_are_said_on_the_page(scc, run):
    url = reverse("outflows:drilldown")
    assert 'data-inputs-changed="1"' not in scc.get(url, {"run": run.pk}).content.decode()
    new = RegistrationFiling.objects.create(  # a register of the run's period accepted after it (a resubmission)
        operator=operator(UNP_A), kind=FilingKind.TRANSFER_REGISTER, status=FilingStatus.ACCEPTED,
        period_start=dt.date(2024, 2, 1), period_end=dt.date(2024, 2, 29), sha256="e" * 64, original_name="t.csv",
    )  # fmt: skip
    html = scc.get(url, {"run": run.pk}).content.decode()
    assert 'data-inputs-changed="1"' in html
    assert 'data-as-read="1"' in html  # listed as the run read them
    assert "data-filing-added=" in html
    assert 'data-checked="1"' in html
    shown = CrossBorderTransfer.objects.get(pk=re.search(r'data-transfer="(\d+)"', html).group(1))
    CrossBorderTransfer.objects.create(  # a row of the register accepted since, in a pair on the page
        operator=shown.operator, filing=new, external_id="late-1", occurred_at=shown.occurred_at, direction="IN",
        investor_ref=shown.investor_ref, platform=shown.platform, asset="USDT", amount=1, value_byn=1,
    )  # fmt: skip
    html = scc.get(url, {"run": run.pk}).content.decode()
    assert 'data-checked="1"' in html  # it is not one of the rows the run read: the amounts are the run's


def test_dashboard_and_dossier_link_their_figures_and_charts(scc, run):
    html = scc.get(reverse("dashboard")).content.decode()
    links = _links(html)
    assert any("dimension=overall" in link and "cohort=all" in link for link in links)
    assert any("dimension=platform" in link for link in links)
    data = re.search(r'id="dashboard-data"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert '"url": "/outflows/drilldown/?run=' in unescape(data).replace("\\u0026", "&")
    op = operator(UNP_A)
    html = scc.get(reverse("operators:detail", args=[op.pk])).content.decode()
    assert any(f"dimension=operator&key={UNP_A}" in link for link in _links(html))
    data = re.search(r'id="dossier-data"[^>]*>(.*?)</script>', html, re.S).group(1)
    assert "drilldown" in data


def _api(scopes, user=None) -> APIClient:
    client = APIClient()
    key = api_token_create(name="t", scopes=scopes, user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_api_pages_through_a_cell_with_the_outflows_scope(run):
    stat = run.stats.get(dimension="overall", key="all", cohort="all")
    client = _api([Scope.OUTFLOWS])
    url = "/api/v1/outflows/drilldown/"
    body = client.get(url, {"run": run.pk, "dimension": "overall", "state": "matured", "page_size": 7}).json()
    assert body["cell"]["outbound_value_byn"] == str(stat.outbound_value_byn)
    assert body["inputs_changed"] is False
    assert body["inputs"] == {
        "filings_added": [], "filings_gone": [], "registry_changed": False, "as_read": False, "page_touched": False
    }  # fmt: skip
    returned, count = Decimal(0), 0
    curve = dict.fromkeys(engine.CURVE_DAYS, Decimal(0))
    while True:
        for row in body["results"]:
            assert row["matured"] is True
            returned += Decimal(row["returned_value_byn"])
            count += 1
            for days in curve:
                curve[days] += Decimal(row[f"returned_{days}d_byn"])
        if not body["next"]:
            break
        body = client.get(body["next"]).json()
    assert (returned, count) == (stat.returned_value_byn, stat.outbound_count)
    assert curve == {days: getattr(stat, f"returned_{days}d_byn") for days in engine.CURVE_DAYS}
    assert AuditEvent.objects.filter(action="api.pull.outflow_drilldown").exists()
    assert client.get(url, {"dimension": "nope"}).status_code == 400
    assert client.get(url, {"dimension": "operator", "key": "a\x00"}).status_code == 400
    assert client.get(url, {"run": "99999999"}).status_code == 404
    assert client.get(url, {"updated_since": "2025-13-01T00:00:00Z"}).status_code == 400
    assert client.get(url, {"run": run.pk, "updated_since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert _api([Scope.TRANSFERS]).get(url).status_code == 403
    staff = operator_staff(operator(UNP_A))
    assert _api(list(Scope.values), user=staff).get(url).status_code == 403
    assert APIClient().get(url).status_code in (401, 403)


def test_api_names_rows_of_the_pairs_it_allocates():
    add_transfers(transfer("OUT", "100", day=0, external_id="o"), transfer("IN", "30", day=3, external_id="i"))
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=1000))
    body = _api([Scope.OUTFLOWS]).get("/api/v1/outflows/drilldown/", {"run": run.pk}).json()
    (row,) = body["results"]
    assert (row["external_id"], row["returned_value_byn"], row["unreturned_value_byn"]) == ("o", "30.00", "70.00")
    assert [row[f"returned_{days}d_byn"] for days in engine.CURVE_DAYS] == ["30.00"] * 4  # back on day 3
    assert row["window_closes_at"].startswith("2025-01-")
    assert drilldown.inputs_check(run).changed is False


def _ids_through_pages(client, url: str, params: dict) -> list[int]:
    ids, response = [], client.get(url, params)
    while True:
        html = response.content.decode()
        ids += [int(pk) for pk in re.findall(r'data-transfer="(\d+)"', html)]
        found = re.search(r'<a href="([^"]+)" rel="next"', html)
        if not found:
            return ids
        response = client.get(url + unescape(found.group(1)))


@pytest.mark.parametrize("sparse", [False, True], ids=["keyset", "sparse"])
def test_pages_of_a_cell_list_each_outbound_once_in_order(scc, run, monkeypatch, sparse):
    monkeypatch.setattr(drill_views, "PAGE_SIZE", 7)
    if sparse:  # every cell read as a sparse one: its order read once, unordered, and kept
        monkeypatch.setattr(drill_views, "SPARSE_ENTRIES", 0)
    expected = list(
        cells.cell_outbounds(run=run, dimension="overall", key="all", cohort="all")
        .order_by("occurred_at", "id")
        .values_list("id", flat=True)
    )
    assert len(expected) > 20
    params = {"run": run.pk, "dimension": "overall"}
    assert _ids_through_pages(scc, reverse("outflows:drilldown"), params) == expected


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_api_pages_of_a_cell_list_each_outbound_once(run, monkeypatch, sparse):
    if sparse:
        monkeypatch.setattr(drilldown, "SPARSE_ENTRIES", 0)
    expected = set(
        cells.cell_outbounds(run=run, dimension="platform", key="alpha", cohort="all").values_list("id", flat=True)
    )
    client, seen = _api([Scope.OUTFLOWS]), []
    body = client.get(
        "/api/v1/outflows/drilldown/", {"run": run.pk, "dimension": "platform", "key": "alpha", "page_size": 5}
    ).json()
    while True:
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        body = client.get(body["next"]).json()
    assert sorted(seen) == sorted(expected)
    assert len(seen) > 10

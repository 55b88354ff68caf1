"""The drill-down of a run older than a resubmission lists the rows it read (issue 17 items 1 and 6).

A run records the registers it read (outflows.inputs); after its period's register is resubmitted
(its rows archived) its cells are listed from the rows of its registers, live or archived, keyed by
the registry it recorded (outflows.drilldown.cell_source): every cell of the old run, added up again
from its drill-down, equals its stored row to the kopeck, on the page, in the export and the API.
"""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import Scope
from api.services import api_token_create
from operators.models import ForeignPlatform
from outflows import cells, drilldown
from outflows.inputs import run_rows
from outflows.models import ArchivedTransfer, CrossBorderTransfer, OutflowRun
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.factories import auditor
from tests.outflows.test_rederive import (
    APRIL,
    APRIL_AGAIN,
    APRIL_THIRD,
    AS_OF,
    MARCH,
    WINDOW,
    _april,
    _client_register,
    _filed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def _every_cell_adds_up(run: OutflowRun) -> dict[str, Decimal]:
    """Every stat cell of the run added up from its drill-down; {external_id: returned BYN} of the overall cell."""
    source = drilldown.cell_source(run)
    listed = {}
    for stat in run.stats.all():
        totals = drilldown.CellTotals()
        for row, allocation in drilldown.cell_rows(
            run=run, dimension=stat.dimension, key=stat.key, cohort=stat.cohort, source=source
        ):
            totals.add(allocation)
            if (stat.dimension, stat.cohort) == ("overall", "all"):
                listed[row.external_id] = (Decimal(allocation.returned).scaleb(-2), getattr(row, "archived", False))
        assert totals.equals(stat), (stat.dimension, stat.key, stat.cohort, totals)
        # The listing alone (the page's and the API's rows) is the same set of outbounds.
        assert (
            cells.cell_outbounds(run=run, dimension=stat.dimension, key=stat.key, cohort=stat.cohort, source=source)
            .values("pk")
            .count()
            == stat.outbound_count + totals.pending_count
        )
    return listed


@pytest.fixture
def resubmitted():
    """A run, then April's register filed twice more and a platform's country edited: (old run, new run)."""
    operator, _march, _april_filing = _filed()
    cache.delete(LOCK_KEY)
    old = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    listed = _every_cell_adds_up(old)
    _april(operator, APRIL_AGAIN)
    _april(operator, APRIL_THIRD)
    ForeignPlatform.objects.filter(slug="okx").update(country="SC")
    cache.delete(LOCK_KEY)
    new = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    return old, new, listed


def test_every_cell_of_an_old_run_adds_up_after_resubmissions(resubmitted):
    old, new, before = resubmitted
    assert ArchivedTransfer.objects.count() == len(APRIL) + len(APRIL_AGAIN)
    assert old.stats.get(dimension="overall", key="all", cohort="all") != new.stats.get(
        dimension="overall", key="all", cohort="all"
    )
    check = drilldown.inputs_check(old)
    assert check.changed
    assert check.registry_changed
    assert drilldown.cell_source(old, check).as_read
    assert old.stats.filter(dimension="country", key="AE").exists()  # okx was in AE for the old run
    after = _every_cell_adds_up(old)
    # The same outbounds with the same amounts as before the resubmissions; April's from the archive now.
    assert after == {ext: (returned, ext.startswith("A-")) for ext, (returned, _) in before.items()}
    assert {ext for ext, *_ in MARCH + APRIL if ext in after} == set(after)
    # The new run is read from the live table (its inputs are today's), and adds up too.
    assert not drilldown.cell_source(new).as_read
    assert drilldown.cell_source(new).transfers is None
    _every_cell_adds_up(new)
    # outflows.inputs.run_rows: the same rows, every one the old run read.
    rows = run_rows(run=old)
    assert rows.count() == old.input_rows
    assert sorted(rows.filter(archived=True).values_list("external_id", flat=True)) == sorted(e for e, *_ in APRIL)


def test_page_export_and_api_show_the_archived_rows_of_an_old_run(resubmitted):
    old, new, _ = resubmitted
    client = Client()
    client.force_login(auditor())
    url = reverse("outflows:drilldown")
    html = client.get(url, {"run": old.pk, "dimension": "overall"}).content.decode()
    assert 'data-as-read="1"' in html
    assert 'data-checked="1"' in html  # the listed rows add up to the stored cell
    assert 'data-registry-changed="1"' in html
    archived = set(ArchivedTransfer.objects.filter(direction="OUT").values_list("pk", flat=True))
    shown = {int(pk) for pk in re.findall(r'data-transfer="(\d+)"', html)}
    april_out = set(
        ArchivedTransfer.objects.filter(
            external_id__in=["A-2", "A-4"], filing__in=old.input_filings.values("filing")
        ).values_list("pk", flat=True)
    )
    assert april_out <= shown
    assert shown & archived == april_out
    assert html.count('data-archived="1"') == len(april_out)
    # A country as the old run recorded it: okx's transfers still under AE.
    html = client.get(url, {"run": old.pk, "dimension": "country", "key": "AE"}).content.decode()
    assert 'data-checked="1"' in html
    # The new run: the live rows, nothing archived, no notice.
    html = client.get(url, {"run": new.pk, "dimension": "overall"}).content.decode()
    assert 'data-as-read="1"' not in html
    assert 'data-archived="1"' not in html
    assert 'data-checked="1"' in html

    stat = old.stats.get(dimension="overall", key="all", cohort="all")
    response = client.get(reverse("outflows:drilldown_export", args=["csv"]), {"run": old.pk, "dimension": "overall"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    _header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    matured = [r for r in rows if r[10] == "да"]
    assert sum(Decimal(r[8].replace(",", ".")) for r in matured) == stat.returned_value_byn
    assert sum(Decimal(r[7].replace(",", ".")) for r in matured) == stat.outbound_value_byn
    assert sorted(r[3] for r in rows if r[12] == "да") == ["A-2", "A-4"]

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(name='t', scopes=[Scope.OUTFLOWS]).key}")
    body = api.get("/api/v1/outflows/drilldown/", {"run": old.pk, "page_size": 2}).json()
    assert body["inputs_changed"] is True
    assert body["inputs"]["as_read"] is True
    assert body["inputs"]["page_touched"] is False
    results = []
    while True:
        results += body["results"]
        if not body["next"]:
            break
        body = api.get(body["next"]).json()
    assert sorted(r["external_id"] for r in results if r["archived"]) == ["A-2", "A-4"]
    matured = [r for r in results if r["matured"]]
    assert sum(Decimal(r["returned_value_byn"]) for r in matured) == stat.returned_value_byn
    assert sum(Decimal(r["value_byn"]) for r in matured) == stat.outbound_value_byn
    body = api.get("/api/v1/outflows/drilldown/", {"run": new.pk}).json()
    assert body["inputs"]["as_read"] is False
    assert not any(r["archived"] for r in body["results"])


def test_a_run_without_a_record_reads_the_live_rows():
    operator, _march, _april_filing = _filed()
    cache.delete(LOCK_KEY)
    run = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    run.input_registry.delete()
    _april(operator, APRIL_AGAIN)
    assert drilldown.cell_source(run) is cells.LIVE
    listed = {t.external_id for t, _ in drilldown.cell_rows(run=run, dimension="overall", key="all", cohort="all")}
    assert listed == set(
        CrossBorderTransfer.objects.filter(direction="OUT", occurred_at__lte=AS_OF).values_list(
            "external_id", flat=True
        )
    )


def test_residency_and_kyc_cells_of_an_old_run_add_up_after_its_client_register_is_resubmitted():
    operator, _march, _april_filing = _filed()
    first = _client_register(
        operator, [("inv1", "BY", "2025-01-05", "standard"), ("inv2", "RU", "2025-02-01", "enhanced")]
    )
    cache.delete(LOCK_KEY)
    old = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    keys = set(old.stats.filter(dimension__in=["residency", "kyc"]).values_list("dimension", "key"))
    assert {("residency", "BY"), ("residency", "RU"), ("kyc", "standard"), ("kyc", "enhanced")} <= keys
    # The quarter's client register filed again: inv1 now elsewhere, inv2 gone from it.
    _client_register(operator, [("inv1", "PL", "2025-01-05", "simplified")])
    check = drilldown.inputs_check(old)
    assert check.filings_gone == (first.pk,)
    source = drilldown.cell_source(old, check)
    assert source.as_read
    _every_cell_adds_up(old)
    by = {t.investor_ref for t, _ in drilldown.cell_rows(run=old, dimension="residency", key="BY", cohort="all")}
    assert by == {"inv1"}

"""Incremental pulls: `updated_since` returns exactly what changed; cursor pages return every row once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.models import Flag
from operators.models import ForeignPlatform, Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun
from tests.api.conftest import make_run, make_transfers
from tests.factories import PlatformFactory

OLD = timezone.now() - timedelta(days=30)


def _pull_all(client, url: str) -> list[dict]:
    rows, seen_pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        rows.extend(body["results"])
        url = body["next"]
        seen_pages += 1
        assert seen_pages < 1000
    return rows


# (list url, model); each has an updated_at that a save() moves forward.
CHANGEABLE = [
    ("/api/v1/operators/", Operator),
    ("/api/v1/platforms/", ForeignPlatform),
    ("/api/v1/filings/", RegistrationFiling),
    ("/api/v1/flags/", Flag),
    ("/api/v1/outflows/runs/", OutflowRun),
]


@pytest.mark.parametrize(("url", "model"), CHANGEABLE, ids=[u for u, _ in CHANGEABLE])
def test_updated_since_returns_exactly_the_changed_objects(world, agency, url, model):
    PlatformFactory()
    make_run()
    model.objects.update(updated_at=OLD)
    cutoff = timezone.now() - timedelta(seconds=1)
    changed = model.objects.order_by("id").first()
    changed.save()  # auto_now moves updated_at
    rows = _pull_all(agency, f"{url}?updated_since={cutoff.isoformat().replace('+', '%2B')}")
    assert [r["id"] for r in rows] == [changed.pk]
    everything = _pull_all(agency, url)
    assert len(everything) == model.objects.count() > 1


def test_updated_since_on_transfers(world, agency):
    make_transfers(world.op_a, world.filing_a, world.platform, 20, start=100)
    CrossBorderTransfer.objects.update(updated_at=OLD)
    cutoff = timezone.now()
    touched = list(CrossBorderTransfer.objects.order_by("id").values_list("id", flat=True)[5:9])
    CrossBorderTransfer.objects.filter(id__in=touched).update(updated_at=timezone.now() + timedelta(seconds=1))
    rows = _pull_all(agency, f"/api/v1/transfers/?page_size=3&updated_since={cutoff.isoformat().replace('+', '%2B')}")
    assert [r["id"] for r in rows] == touched


def test_cursor_paging_returns_every_transfer_once(world, agency):
    make_transfers(world.op_b, world.filing_b, world.platform, 250)
    rows = _pull_all(agency, "/api/v1/transfers/?page_size=7")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == list(CrossBorderTransfer.objects.order_by("id").values_list("id", flat=True))
    assert ids == sorted(ids)  # stable order


def test_cursor_paging_keeps_filters(world, agency):
    make_transfers(world.op_b, world.filing_b, world.platform, 40)
    rows = _pull_all(agency, f"/api/v1/transfers/?page_size=6&operator={world.op_b.unp}&direction=OUT")
    expected = CrossBorderTransfer.objects.filter(operator=world.op_b, direction="OUT")
    assert sorted(r["id"] for r in rows) == sorted(expected.values_list("id", flat=True))


def test_page_size_is_capped(world, agency):
    make_transfers(world.op_b, world.filing_b, world.platform, 1005)
    assert len(agency.get("/api/v1/transfers/?page_size=5000").json()["results"]) == 1000


@pytest.mark.parametrize(
    "value", ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00+03:00", "2025-01-01T00:00:00 03:00", "2025-01-01T00:00"]
)
def test_updated_since_accepts_iso_forms(world, agency, value):
    from urllib.parse import quote

    # A "+" typed raw into a URL arrives as a space; both spellings work.
    raw = value if " " not in value else value.replace(" ", "+")
    for url in (f"/api/v1/transfers/?updated_since={quote(value)}", f"/api/v1/transfers/?updated_since={raw}"):
        response = agency.get(url)
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == 3


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2025-13-01T00:00:00Z", "1" * 300, "0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-12:00"],
)
def test_bad_updated_since_is_400_with_field_error(world, agency, value):
    response = agency.get(f"/api/v1/operators/?updated_since={value}")
    assert response.status_code == 400
    assert "updated_since" in response.json()["errors"]


def test_bad_cursor_is_400(world, agency):
    response = agency.get("/api/v1/transfers/?cursor=garbage")
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_stats_default_to_latest_finished_run(world, agency):
    newer = make_run(keys=("all", "x"))
    rows = _pull_all(agency, "/api/v1/outflows/stats/")
    assert {r["run"] for r in rows} == {newer.pk}
    assert len(rows) == 6
    older = _pull_all(agency, f"/api/v1/outflows/stats/?run={world.run.pk}")
    assert {r["run"] for r in older} == {world.run.pk}


def test_stats_updated_since_returns_rows_of_changed_runs(world, agency):
    OutflowRun.objects.update(updated_at=OLD)
    cutoff = timezone.now()
    newer = make_run()
    rows = _pull_all(agency, f"/api/v1/outflows/stats/?updated_since={cutoff.isoformat().replace('+', '%2B')}")
    assert {r["run"] for r in rows} == {newer.pk}


def test_stats_cohort_range_and_dimension(world, agency):
    rows = _pull_all(agency, "/api/v1/outflows/stats/?cohort_from=2025-02&cohort_to=2025-12&dimension=overall&key=all")
    assert [r["cohort"] for r in rows] == ["2025-02"]
    assert agency.get("/api/v1/outflows/stats/?cohort_from=2025-2").status_code == 400
    assert agency.get("/api/v1/outflows/stats/?dimension=galaxy").status_code == 400


def test_filing_errors_updated_since_follows_the_filing(world, agency):
    RegistrationFiling.objects.update(updated_at=OLD)
    url = f"/api/v1/filings/{world.filing_a.pk}/errors/"
    since = timezone.now().isoformat().replace("+", "%2B")
    assert agency.get(f"{url}?updated_since={since}").json()["results"] == []
    assert len(agency.get(url).json()["results"]) == 1


def test_stats_share_is_a_number_and_money_a_decimal_string(world, agency):
    row = agency.get(f"/api/v1/outflows/stats/?run={world.run.pk}&cohort=all").json()["results"][0]
    assert row["non_return_share"] == 0.4
    assert row["outbound_value_byn"] == "100.00"

"""Drill-down of a stat cell to its transfers (issue 17 item 1): every cell adds up to its stored row.

Each cell's outbounds with their recomputed allocation (outflows.drilldown) add up to the stored
OutflowStat row to the kopeck, for every cell of a run; each outbound's returned amount equals the
plain reference's (tests/outflows/reference.py) with DESIGN's last tie-break, external_id.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operators.models import FilingKind, FilingStatus, ForeignPlatform, RegistrationFiling
from outflows import cells, drilldown, engine
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowRunRegistry
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.outflows.factories import (
    BASE,
    PLATFORMS,
    UNP_A,
    UNP_B,
    add_transfers,
    operator,
    random_transfers,
    transfer,
)
from tests.outflows.reference import reference_compute

pytestmark = pytest.mark.django_db

AS_OF = BASE + dt.timedelta(days=500)  # some outbounds matured, some pending


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def _reference_returned(rows: list[dict], *, as_of: dt.datetime, window_days: int) -> dict:
    """{external_id: returned kopecks} by the plain reference, ties broken by external_id."""
    plain = [
        {
            "id": r["external_id"],
            "investor": r["investor"],
            "platform": r["platform"],
            "country": PLATFORMS[r["platform"]],
            "operator": r["unp"],
            "t": engine.epoch_us(dt.datetime.fromisoformat(r["at"])),
            "direction": r["direction"],
            "value": int(Decimal(r["value"]).scaleb(2)),
        }
        for r in rows
    ]
    return reference_compute(plain, as_of_us=engine.epoch_us(as_of), window_days=window_days)["returned"]


def _assert_every_cell_adds_up(run: OutflowRun, rows: list[dict]) -> int:
    expected = _reference_returned(rows, as_of=run.as_of, window_days=run.window_days)
    checked = 0
    for stat in run.stats.all():
        totals = drilldown.CellTotals()
        for transfer_row, allocation in drilldown.cell_rows(
            run=run, dimension=stat.dimension, key=stat.key, cohort=stat.cohort
        ):
            assert allocation.returned == expected[transfer_row.external_id], transfer_row.external_id
            assert allocation.window_closes == transfer_row.occurred_at + dt.timedelta(days=run.window_days)
            assert allocation.matured == (allocation.window_closes <= run.as_of)
            totals.add(allocation)
        assert totals.equals(stat), (stat.dimension, stat.key, stat.cohort, totals)
        assert (
            totals.pending_count
            == cells.cell_outbounds(
                run=run, dimension=stat.dimension, key=stat.key, cohort=stat.cohort, state="pending"
            ).count()
        )
        checked += 1
    return checked


def test_every_cell_of_a_run_adds_up_to_the_kopeck():
    rows = random_transfers(400, seed=17)
    add_transfers(*rows)
    run = outflow_run_compute(as_of=AS_OF, window_days=365)
    checked = _assert_every_cell_adds_up(run, rows)
    assert checked == run.stats.count() > 40
    # The chunks of an export: a cell split over many small chunks adds up the same, read in order or,
    # as a sparse cell, by its ids.
    stat = run.stats.get(dimension="overall", key="all", cohort="all")
    chunk, entries = drilldown.CHUNK, drilldown.SPARSE_ENTRIES
    try:
        drilldown.CHUNK = 7
        assert drilldown.cell_totals(run=run, dimension="overall", key="all", cohort="all").equals(stat)
        drilldown.SPARSE_ENTRIES = 0
        listed = [t.pk for t, _ in drilldown.cell_rows(run=run, dimension="overall", key="all", cohort="all")]
        assert listed == list(
            cells.cell_outbounds(run=run, dimension="overall", key="all", cohort="all")
            .order_by("occurred_at", "id")
            .values_list("id", flat=True)
        )
        assert drilldown.cell_totals(run=run, dimension="overall", key="all", cohort="all").equals(stat)
    finally:
        drilldown.CHUNK, drilldown.SPARSE_ENTRIES = chunk, entries


def test_a_cell_of_another_window_and_partitions():
    rows = random_transfers(150, seed=3)
    add_transfers(*rows)
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=200), window_days=30)
    assert _assert_every_cell_adds_up(run, rows) == run.stats.count()


def test_closed_window_worked_example_per_transfer():
    """OUT 100 day 0; OUT 100 day 300; IN 100 day 400: the first got 0 (its window closed), the second 100."""
    add_transfers(
        transfer("OUT", "100", day=0, external_id="first"),
        transfer("OUT", "100", day=300, external_id="second"),
        transfer("IN", "100", day=400, external_id="back"),
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=1000))
    listed = {t.external_id: a for t, a in drilldown.cell_rows(run=run, dimension="overall", key="all", cohort="all")}
    assert set(listed) == {"first", "second"}
    assert (listed["first"].returned, listed["first"].unreturned) == (0, 100_00)
    assert (listed["second"].returned, listed["second"].unreturned) == (100_00, 0)
    # The return curve: back 100 days after the outbound, so within 180 and 365 days, not 30 or 90.
    assert listed["second"].returned_within == (0, 0, 100_00, 100_00)
    assert listed["first"].returned_within == (0, 0, 0, 0)
    assert listed["first"].window_closes == BASE + dt.timedelta(days=365)
    assert all(a.matured for a in listed.values())


def test_simultaneous_outbounds_of_one_operator_take_returns_in_external_id_order():
    add_transfers(
        transfer("OUT", "100", day=0, external_id="b-2"),
        transfer("OUT", "100", day=0, external_id="a-1"),
        transfer("IN", "60", day=10, external_id="in"),
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=1000))
    listed = {t.external_id: a.returned for t, a in drilldown.cell_rows(run=run, dimension="overall", key="all",
                                                                         cohort="all")}  # fmt: skip
    assert listed == {"a-1": 60_00, "b-2": 0}


def test_returns_from_another_operator_count_and_other_platforms_do_not():
    add_transfers(
        transfer("OUT", "100", day=0, unp=UNP_A, external_id="out"),
        transfer("IN", "30", day=5, unp=UNP_B, external_id="in-b"),  # same pair, other operator: counts
        transfer("IN", "50", day=6, platform_slug="beta", external_id="in-beta"),  # other platform: excess
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=1000))
    ((row, allocation),) = drilldown.cell_rows(run=run, dimension="operator", key=UNP_A, cohort="all")
    assert (row.external_id, allocation.returned) == ("out", 30_00)
    assert list(drilldown.cell_rows(run=run, dimension="operator", key=UNP_B, cohort="all")) == []


def test_states_and_unknown_dimension():
    rows = random_transfers(120, seed=5)
    add_transfers(*rows)
    run = outflow_run_compute(as_of=AS_OF)
    matured = list(drilldown.cell_rows(run=run, dimension="overall", key="all", cohort="all", state="matured"))
    pending = list(drilldown.cell_rows(run=run, dimension="overall", key="all", cohort="all", state="pending"))
    assert matured
    assert pending
    assert all(a.matured for _, a in matured)
    assert not any(a.matured for _, a in pending)
    with pytest.raises(LookupError):
        cells.cell_outbounds(run=run, dimension="no-such", key="x", cohort="all")
    with pytest.raises(ValueError, match="invalid literal"):
        cells.cell_outbounds(run=run, dimension="overall", key="all", cohort="2024-13x")


def test_a_registered_dimension_drills_down_without_other_changes():
    add_transfers(
        transfer("OUT", "100", day=0, investor="inv-a", external_id="o1"),
        transfer("OUT", "40", day=1, investor="inv-b", external_id="o2"),
        transfer("IN", "25", day=2, investor="inv-a", external_id="i1"),
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=1000))
    cells.dimension_register("test_investor", lambda key: Q(investor_ref=key))
    try:
        listed = [(t.external_id, a.returned) for t, a in drilldown.cell_rows(
            run=run, dimension="test_investor", key="inv-a", cohort="all")]  # fmt: skip
    finally:
        cells.DIMENSION_FILTERS.pop("test_investor")
    assert listed == [("o1", 25_00)]


def _accepted_register(*, period_start: dt.date, sha: str) -> RegistrationFiling:
    return RegistrationFiling.objects.create(
        operator=operator(UNP_A), kind=FilingKind.TRANSFER_REGISTER, status=FilingStatus.ACCEPTED,
        period_start=period_start, period_end=period_start + dt.timedelta(days=27), sha256=sha, original_name="t.csv",
    )  # fmt: skip


def test_inputs_changed_since_the_run_are_reported_by_its_registers():
    first = _accepted_register(period_start=dt.date(2024, 1, 1), sha="a" * 64)
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "40", day=3))
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=400))
    check = drilldown.inputs_check(run)
    assert not check.changed
    # A register for a period after the run's as_of is not one of its inputs.
    _accepted_register(period_start=dt.date(2026, 1, 1), sha="b" * 64)
    assert not drilldown.inputs_check(run).changed
    # A resubmission of the run's period: the old register superseded, a new one accepted.
    second = _accepted_register(period_start=dt.date(2024, 1, 1), sha="c" * 64)
    RegistrationFiling.objects.filter(pk=first.pk).update(status=FilingStatus.SUPERSEDED)
    check = drilldown.inputs_check(run)
    assert check.changed
    assert (check.filings_added, check.filings_gone) == ((second.pk,), (first.pk,))


def test_a_registry_edited_since_the_run_is_reported():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "40", day=3))
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=400))
    assert not drilldown.inputs_check(run).registry_changed
    ForeignPlatform.objects.create(slug="new-one", name="New", country="AE")  # a new platform: nothing of the run
    assert not drilldown.inputs_check(run).registry_changed
    ForeignPlatform.objects.filter(slug="alpha").update(country="MT")
    assert drilldown.inputs_check(run).registry_changed


def test_inputs_of_a_run_without_a_record_are_compared_by_fingerprint():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "40", day=3))
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=400))
    OutflowRunRegistry.objects.filter(run=run).delete()  # as a run finished before runs kept one
    check = drilldown.inputs_check(run)
    assert not check.changed
    # A transfer after the run's as_of changes the table but not the run's inputs.
    add_transfers(transfer("IN", "10", day=450))
    check = drilldown.inputs_check(run)
    assert check.compared
    assert not check.changed
    # One at or before as_of changes them: the fingerprints differ.
    add_transfers(transfer("IN", "10", day=5))
    check = drilldown.inputs_check(run)
    assert check.compared
    assert check.changed
    assert check.fingerprint != run.input_fingerprint


transfer_strategy = st.fixed_dictionaries(
    {
        "direction": st.sampled_from(["OUT", "OUT", "IN"]),
        "day": st.sampled_from([0, 0, 1, 30, 364, 365, 366, 400]),
        "investor": st.sampled_from(["inv-1", "inv-2"]),
        "platform_slug": st.sampled_from(sorted(PLATFORMS)),
        "unp": st.sampled_from([UNP_A, UNP_B]),
        "value": st.sampled_from(["0.01", "1.00", "60.00", "100.00", "12345.67"]),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(transfer_strategy, min_size=1, max_size=14),
    window_days=st.sampled_from([1, 30, 365]),
    as_of_day=st.sampled_from([0, 31, 366, 800]),
)
def test_random_small_sets_add_up(specs, window_days, as_of_day):
    CrossBorderTransfer.objects.all().delete()
    OutflowRun.objects.all().delete()
    rows = [transfer(s["direction"], s["value"], day=s["day"], investor=s["investor"],
                     platform_slug=s["platform_slug"], unp=s["unp"], external_id=f"h-{i:02d}")
            for i, s in enumerate(specs)]  # fmt: skip
    add_transfers(*rows)
    cache.delete(LOCK_KEY)
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=as_of_day, seconds=1), window_days=window_days)
    assert _assert_every_cell_adds_up(run, rows) == run.stats.count()

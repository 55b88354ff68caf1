"""The non-return computation through the full service: transfers in the database -> run -> OutflowStat."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache

from outflows import readers, selectors, services
from outflows.models import OutflowRun, OutflowStat, RunStatus
from outflows.readers import pgcopy
from outflows.services import LOCK_KEY, OutflowRunBusy, outflow_run_compute
from tests.outflows.factories import (
    BASE,
    UNP_A,
    UNP_B,
    add_transfers,
    random_transfers,
    transfer,
)

pytestmark = pytest.mark.django_db

LATE = BASE + dt.timedelta(days=1000)  # every worked example matured


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def overall(run: OutflowRun, dimension: str = "overall", key: str = "all", cohort: str = "all") -> OutflowStat:
    return run.stats.get(dimension=dimension, key=key, cohort=cohort)


def figures(run: OutflowRun) -> dict:
    """Every stat row of a run, comparable between runs."""
    fields = [f.name for f in OutflowStat._meta.fields if f.name not in {"id", "run"}]
    return {(s.dimension, s.key, s.cohort): tuple(getattr(s, f) for f in fields) for s in run.stats.all()}


def assert_example(run: OutflowRun, *, returned: str, excess: str, share: str | None) -> None:
    stat = overall(run)
    assert run.status == RunStatus.FINISHED
    assert stat.returned_value_byn == Decimal(returned)
    assert run.excess_return_byn == Decimal(excess)
    assert stat.unreturned_value_byn == stat.outbound_value_byn - stat.returned_value_byn
    if share is None:
        assert stat.non_return_share is None
    else:
        assert stat.non_return_share == Decimal(share)


# --- DESIGN section 5, worked examples (W = 365 days), one test each --------------------------------------


def test_example_partial_return():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    assert_example(outflow_run_compute(as_of=LATE), returned="60", excess="0", share="0.40")


def test_example_return_above_outbound_is_excess():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "150", day=31))
    assert_example(outflow_run_compute(as_of=LATE), returned="100", excess="50", share="0.00")


def test_example_return_before_any_outbound_is_excess():
    add_transfers(transfer("IN", "50", day=0), transfer("OUT", "100", day=31))
    assert_example(outflow_run_compute(as_of=LATE), returned="0", excess="50", share="1.00")


def test_example_closed_window_passes_the_return_to_the_next_outbound():
    add_transfers(transfer("OUT", "100", day=0), transfer("OUT", "100", day=300), transfer("IN", "100", day=400))
    run = outflow_run_compute(as_of=LATE)
    assert_example(run, returned="100", excess="0", share="0.50")
    # first (cohort 2024-01) got 0, second (day 300 = 2024-11-05, cohort 2024-11) got 100
    assert overall(run, cohort="2024-01").returned_value_byn == 0
    assert overall(run, cohort="2024-11").returned_value_byn == 100


def test_example_return_exactly_at_window_end_counts():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "100", day=365))
    assert_example(outflow_run_compute(as_of=LATE), returned="100", excess="0", share="0.00")


def test_example_return_one_second_after_window_is_excess():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "100", at=BASE + dt.timedelta(days=365, seconds=1)))
    assert_example(outflow_run_compute(as_of=LATE), returned="0", excess="100", share="1.00")


def test_example_in_and_out_at_the_same_instant_out_comes_first():
    add_transfers(transfer("IN", "100", day=0), transfer("OUT", "100", day=0))
    assert_example(outflow_run_compute(as_of=LATE), returned="100", excess="0", share="0.00")


def test_example_return_from_another_platform_is_not_credited():
    add_transfers(
        transfer("OUT", "100", day=0, platform_slug="alpha"), transfer("IN", "100", day=10, platform_slug="beta")
    )
    run = outflow_run_compute(as_of=LATE)
    assert_example(run, returned="0", excess="100", share="1.00")
    assert overall(run, "platform", "alpha").non_return_share == 1
    assert not run.stats.filter(dimension="platform", key="beta").exists()  # no outbound there


# --- Further rules of section 5 ---------------------------------------------------------------------------


def test_return_reported_by_another_operator_counts():
    add_transfers(transfer("OUT", "100", day=0, unp=UNP_A), transfer("IN", "70", day=20, unp=UNP_B))
    run = outflow_run_compute(as_of=LATE)
    stat = overall(run, "operator", UNP_A)
    assert (stat.returned_value_byn, stat.non_return_share) == (Decimal("70"), Decimal("0.3"))
    assert not run.stats.filter(dimension="operator", key=UNP_B).exists()  # B reported no outbound
    assert run.excess_return_byn == 0


def test_simultaneous_outbounds_are_served_in_unp_order():
    add_transfers(
        transfer("OUT", "100", day=0, unp=UNP_B), transfer("OUT", "100", day=0, unp=UNP_A), transfer("IN", "150", day=5)
    )
    run = outflow_run_compute(as_of=LATE)
    assert overall(run, "operator", UNP_A).returned_value_byn == 100  # "191234563" < UNP_B
    assert overall(run, "operator", UNP_B).returned_value_byn == 50


def test_events_after_as_of_are_ignored():
    add_transfers(
        transfer("OUT", "100", day=0),
        transfer("IN", "100", day=400),  # after as_of
        transfer("OUT", "500", day=401),  # after as_of
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=399))
    stat = overall(run)
    assert (stat.outbound_value_byn, stat.returned_value_byn, stat.non_return_share) == (100, 0, 1)
    assert stat.pending_outbound_value_byn == 0
    assert run.input_rows == 1


def test_pending_outbounds_are_reported_apart():
    add_transfers(
        transfer("OUT", "100", day=0),  # matured at as_of
        transfer("OUT", "80", day=300),  # pending: matures on day 665
        transfer("IN", "130", day=301),
    )
    run = outflow_run_compute(as_of=BASE + dt.timedelta(days=365))
    stat = overall(run)
    assert (stat.outbound_value_byn, stat.returned_value_byn, stat.outbound_count) == (100, 100, 1)
    assert (stat.pending_outbound_value_byn, stat.pending_returned_value_byn) == (80, 30)
    assert stat.non_return_share == 0


def test_nothing_matured_gives_no_share():
    add_transfers(transfer("OUT", "100", day=0))
    stat = overall(outflow_run_compute(as_of=BASE + dt.timedelta(days=10)))
    assert stat.non_return_share is None
    assert stat.pending_outbound_value_byn == 100


def test_cohort_is_the_europe_minsk_month():
    add_transfers(transfer("OUT", "100", at=dt.datetime(2025, 1, 31, 22, 30, tzinfo=dt.UTC)))
    run = outflow_run_compute(as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert set(run.stats.values_list("cohort", flat=True)) == {"2025-02", "all"}


def test_every_dimension_by_cohort_and_over_all_cohorts():
    add_transfers(
        transfer("OUT", "100", day=0, platform_slug="alpha", unp=UNP_A),
        transfer("OUT", "50", day=40, platform_slug="gamma", unp=UNP_B, investor="inv-2"),
        transfer("IN", "25", day=45, platform_slug="gamma", investor="inv-2"),
    )
    run = outflow_run_compute(as_of=LATE)
    keys = set(run.stats.values_list("dimension", "key", "cohort"))
    assert ("country", "CY", "all") in keys  # alpha and gamma are both in CY
    assert overall(run, "country", "CY").outbound_value_byn == 150
    assert overall(run, "country", "CY").returned_value_byn == 25
    assert ("operator", UNP_B, "2024-02") in keys
    assert ("platform", "gamma", "2024-02") in keys
    assert overall(run, cohort="2024-01").outbound_value_byn == 100


def test_return_curve_is_stored_per_cohort():
    add_transfers(
        transfer("OUT", "100", day=0),
        transfer("IN", "20", day=10),
        transfer("IN", "30", day=60),
        transfer("IN", "40", day=200),
        transfer("IN", "10", day=365),
    )
    run = outflow_run_compute(as_of=LATE)
    stat = overall(run, cohort="2024-01")
    curve = (stat.returned_30d_byn, stat.returned_90d_byn, stat.returned_180d_byn, stat.returned_365d_byn)
    assert curve == (20, 50, 50, 100)
    (point,) = selectors.outflow_return_curve(run=run)
    assert point["cohort"] == "2024-01"
    assert point["returned_within"] == {30: Decimal("0.2"), 90: Decimal("0.5"), 180: Decimal("0.5"), 365: Decimal("1")}


# --- Runs: readers, partitions, immutability, lock ---------------------------------------------------------


@pytest.mark.parametrize("reader", ["copy", "orm"])
def test_both_readers_give_the_worked_example(reader):
    add_transfers(transfer("OUT", "100.01", day=0), transfer("IN", "60.07", day=59))
    stat = overall(outflow_run_compute(as_of=LATE, reader=reader))
    assert (stat.outbound_value_byn, stat.returned_value_byn) == (Decimal("100.01"), Decimal("60.07"))


def test_portable_reader_equals_copy_reader_to_the_kopeck():
    """The ORM reader is the SQLite (embedded default) path; here it reads the same PostgreSQL rows as COPY."""
    add_transfers(*random_transfers(600))
    as_of = BASE + dt.timedelta(days=500)
    by_copy = outflow_run_compute(as_of=as_of, reader="copy")
    by_orm = outflow_run_compute(as_of=as_of, reader="orm")
    assert figures(by_copy) == figures(by_orm)
    assert by_copy.input_fingerprint == by_orm.input_fingerprint
    assert (by_copy.excess_return_byn, by_copy.input_rows) == (by_orm.excess_return_byn, by_orm.input_rows)
    assert len(figures(by_copy)) > 50


@pytest.mark.parametrize("partitions", [2, 3, 8])
def test_partitions_give_the_same_figures_as_one(partitions):
    add_transfers(*random_transfers(600, seed=partitions))
    as_of = BASE + dt.timedelta(days=500)
    one = outflow_run_compute(as_of=as_of, partitions=1)
    many = outflow_run_compute(as_of=as_of, partitions=partitions)
    assert many.partitions == partitions
    assert figures(one) == figures(many)
    assert one.excess_return_byn == many.excess_return_byn


def test_run_records_its_input_and_timings():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    run = outflow_run_compute(as_of=LATE, window_days=30)
    assert (run.input_rows, run.window_days, run.as_of) == (2, 30, LATE)
    assert len(run.input_fingerprint) == 64
    assert {"read_s", "compute_s", "store_s", "total_s"} <= set(run.timings)
    assert run.started_at <= run.finished_at


def test_fingerprint_changes_when_a_transfer_changes():
    (out, _) = add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    first = outflow_run_compute(as_of=LATE)
    same = outflow_run_compute(as_of=LATE)
    out.value_byn = Decimal("101")
    out.save(update_fields=["value_byn"])  # not even updated_at moves
    changed = outflow_run_compute(as_of=LATE)
    assert first.input_fingerprint == same.input_fingerprint != changed.input_fingerprint


def test_finished_run_is_never_recomputed():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    run = outflow_run_compute(as_of=LATE)
    before = figures(run)
    add_transfers(transfer("IN", "40", day=60))
    again = outflow_run_compute(as_of=LATE, run=run)
    assert again.pk == run.pk
    assert figures(OutflowRun.objects.get(pk=run.pk)) == before


def test_a_second_run_is_refused_while_one_holds_the_lock():
    add_transfers(transfer("OUT", "100", day=0))
    assert cache.add(LOCK_KEY, "someone-else", timeout=60)  # as a run in another process would
    with pytest.raises(OutflowRunBusy):
        outflow_run_compute(as_of=LATE)
    assert cache.get(LOCK_KEY) == "someone-else"  # the refused call does not release another's lock
    assert not OutflowRun.objects.exists()
    cache.delete(LOCK_KEY)
    assert outflow_run_compute(as_of=LATE).status == RunStatus.FINISHED
    assert cache.get(LOCK_KEY) is None  # released after the run


def test_failed_run_keeps_its_error(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(readers, "read_transfers", broken)
    with pytest.raises(RuntimeError):
        outflow_run_compute(as_of=LATE)
    run = OutflowRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "disk on fire" in run.error
    assert cache.get(LOCK_KEY) is None


# --- Selectors ---------------------------------------------------------------------------------------------


def test_selectors_read_the_latest_finished_run_by_default():
    add_transfers(
        transfer("OUT", "100", day=0, platform_slug="alpha"),
        transfer("OUT", "300", day=0, platform_slug="beta", investor="inv-2"),
        transfer("IN", "50", day=3, platform_slug="beta", investor="inv-2"),
    )
    old = outflow_run_compute(as_of=LATE, window_days=10)
    new = outflow_run_compute(as_of=LATE)
    OutflowRun.objects.create(as_of=LATE, status=RunStatus.RUNNING)  # unfinished runs are not shown
    assert selectors.outflow_run_get() == new
    assert selectors.outflow_run_get(run=old.pk) == old
    assert selectors.outflow_overall().run == new
    top = list(selectors.outflow_top_unreturned(dimension="platform", limit=1))
    assert [(s.key, s.unreturned_value_byn) for s in top] == [("beta", Decimal("250"))]
    assert [s.key for s in selectors.outflow_top_unreturned(dimension="country")] == ["SC", "CY"]
    assert selectors.outflow_stats(dimension="platform", key="alpha", cohort_from="2024-01").count() == 1


def test_copy_reader_codes_every_investor_exactly_whatever_the_bytes():
    """Unicode, tabs, backslashes, long names and more investors than the decoder's first tables hold."""
    odd = ["инвестор-1", "tab\there", "back\\slash", "new\nline", "x" * 64, "x" * 63, "emoji-😀", "a", "A"]
    odd += ["y" * 20 + "a", "y" * 20 + "b", "z" * 16, "z" * 15 + "y"]  # same first 16 bytes, one byte apart
    rows = [transfer("OUT", "1.00", day=i % 50, investor=f"inv-{i}") for i in range(40_000)]
    rows += [transfer("OUT", "10", day=1, investor=name) for name in odd]
    rows += [transfer("IN", "4", day=2, investor=name) for name in odd]
    add_transfers(*rows)
    by_copy = services.read_transfers_copy(as_of=LATE, expected_rows=0)  # forces every buffer to grow
    by_orm = services.read_transfers_orm(as_of=LATE)
    assert len(by_copy.investor) == len(by_orm.investor) == len(rows)
    assert len(set(by_copy.investor.tolist())) == len(set(by_orm.investor.tolist())) == 40_000 + len(odd)
    assert sorted(by_copy.investor_hash.tolist()) == sorted(by_orm.investor_hash.tolist())
    assert by_copy.value.sum() == by_orm.value.sum() == 40_000 * 100 + len(odd) * 1400
    run = outflow_run_compute(as_of=LATE)
    assert overall(run).returned_value_byn == len(odd) * 4


@pytest.mark.django_db(transaction=True)
def test_two_copy_streams_on_one_snapshot_read_every_row_once(monkeypatch):
    """A run that owns its transaction reads the table as two block ranges on two connections."""
    add_transfers(*random_transfers(3000, seed=7))
    monkeypatch.setattr(pgcopy, "SPLIT_MIN_ROWS", 0)
    snapshots = []
    real = pgcopy._connection_on_snapshot

    def spy(snapshot):
        snapshots.append(snapshot)
        return real(snapshot)

    monkeypatch.setattr(pgcopy, "_connection_on_snapshot", spy)
    as_of = LATE  # every row
    split = outflow_run_compute(as_of=as_of, reader="copy")
    assert len(snapshots) == 1  # the second stream was used
    whole = outflow_run_compute(as_of=as_of, reader="orm")
    assert figures(split) == figures(whole)
    assert split.input_fingerprint == whole.input_fingerprint
    assert split.input_rows == whole.input_rows == 3000


def test_a_caller_transaction_is_read_by_one_stream(monkeypatch):
    """Inside a caller's (or a test's) transaction a second connection could not see its rows: one stream."""
    add_transfers(*random_transfers(300, seed=8))
    monkeypatch.setattr(pgcopy, "SPLIT_MIN_ROWS", 0)
    monkeypatch.setattr(pgcopy, "_connection_on_snapshot", lambda snapshot: pytest.fail("second stream opened"))
    assert outflow_run_compute(as_of=LATE, reader="copy").input_rows == 300

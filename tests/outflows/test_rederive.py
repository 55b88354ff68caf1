"""Runs that can be re-derived (issue 17 item 6): a run records the filings it read, superseded rows are kept,
and `compute_outflows --as-known-at RUN` gives the run's every figure and fingerprint again after resubmissions."""

import datetime as dt
import io
import json
from datetime import date

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from filings.models import ArchivedClientRecord
from operators.models import FilingStatus, ForeignPlatform
from outflows.inputs import run_inputs, run_rows, runs_reading
from outflows.management.commands.compute_outflows import JSON_DIMENSIONS
from outflows.models import ArchivedTransfer, CrossBorderTransfer, OutflowRunFiling, OutflowStat
from outflows.rederive import RunNotRederivable, outflow_rederive
from outflows.selectors import outflow_stat_as_dict
from outflows.services import (
    LOCK_KEY,
    outflow_fan_out_begin,
    outflow_fan_out_finish,
    outflow_partition_compute,
    outflow_run_compute,
)
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
WINDOW = 45  # some outbounds matured by AS_OF, some pending


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def register(rows: list[tuple]) -> bytes:
    """A transfer register: rows of (external_id, day, direction, investor, platform, value)."""
    lines = [TRANSFER_HEADER]
    for ext, day, direction, investor, platform, value in rows:
        lines.append(f"{ext},{day}T10:00:00+03:00,{direction},{investor},{platform},AE,USDT,1,{value}\n")
    return "".join(lines).encode()


MARCH = [
    ("M-1", "2025-03-03", "OUT", "inv1", "binance", "1000.00"),
    ("M-2", "2025-03-04", "OUT", "inv2", "binance", "500.50"),
    ("M-3", "2025-03-20", "OUT", "inv3", "okx", "250.25"),
    ("M-4", "2025-03-25", "IN", "inv1", "binance", "300.00"),
]
APRIL = [
    ("A-1", "2025-04-02", "IN", "inv2", "binance", "100.00"),
    ("A-2", "2025-04-10", "OUT", "inv1", "okx", "700.00"),
    ("A-3", "2025-04-28", "IN", "inv3", "okx", "900.00"),  # more than went out: excess
    ("A-4", "2025-04-29", "OUT", "inv4", "binance", "42.42"),
]
APRIL_AGAIN = [
    ("A-1", "2025-04-02", "IN", "inv2", "binance", "480.00"),  # same id, another value
    ("A-5", "2025-04-15", "OUT", "inv5", "bybit", "1234.56"),  # a new platform
]
APRIL_THIRD = [
    ("A-6", "2025-04-03", "IN", "inv1", "binance", "1000.00"),
    ("A-7", "2025-04-30", "OUT", "inv6", "okx", "9.99"),
]


def _april(operator, rows):
    return submit(operator, register(rows), start=date(2025, 4, 1), end=date(2025, 4, 30)).filing


def _filed():
    operator = OperatorFactory()
    march = submit(operator, register(MARCH), start=date(2025, 3, 1), end=date(2025, 3, 31)).filing
    april = _april(operator, APRIL)
    assert march.status == april.status == FilingStatus.ACCEPTED
    return operator, march, april


def _stored(run) -> list[dict]:
    return [outflow_stat_as_dict(stat) for stat in run.stats.order_by("dimension", "key", "cohort")]


def _json_rows(rows: list[dict]) -> list[dict]:
    """The rows `--json` prints: DESIGN section 10's dimensions (the cross-tabs are compared below)."""
    return [row for row in rows if row["dimension"] in JSON_DIMENSIONS]


def _rederived(run_id: int) -> list[dict]:
    """Every recomputed stat row, cross-tabs included (what `--as-known-at` compares)."""
    return [outflow_stat_as_dict(OutflowStat(**row)) for row in outflow_rederive(run=run_id).rows]


def _as_known_at(run_id: int) -> dict:
    out = io.StringIO()
    call_command("compute_outflows", "--as-known-at", str(run_id), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_a_run_records_the_filings_it_read_with_their_sha256():
    operator, march, april = _filed()
    later = submit(operator, register([("J-1", "2025-07-02", "OUT", "inv9", "okx", "5.00")]),
                   start=date(2025, 7, 1), end=date(2025, 7, 31)).filing  # fmt: skip
    rejected = _april(operator, [("X", "not-a-date", "OUT", "i", "okx", "1")])
    assert rejected.status == FilingStatus.REJECTED
    run = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    inputs = run_inputs(run=run)
    # The accepted registers whose period starts by as_of: not July's (all after as_of), not the rejected one.
    assert inputs.filings == [[march.pk, march.sha256], [april.pk, april.sha256]]
    assert [slug for slug, _, _ in inputs.platforms] == sorted(ForeignPlatform.objects.values_list("slug", flat=True))
    assert runs_reading(filing=april) == [run.pk]
    assert runs_reading(filing=later) == []


def test_resubmission_archives_the_superseded_rows_instead_of_deleting_them():
    operator, march, april = _filed()
    ids = sorted(CrossBorderTransfer.objects.filter(filing=april).values_list("pk", flat=True))
    again = _april(operator, APRIL_AGAIN)
    april.refresh_from_db()
    assert april.status == FilingStatus.SUPERSEDED
    assert april.superseded_by_id == again.pk
    # Live readers see only the current rows; the old ones are kept with their ids and filing.
    assert set(CrossBorderTransfer.objects.values_list("filing_id", flat=True)) == {march.pk, again.pk}
    archived = ArchivedTransfer.objects.filter(filing=april).order_by("pk")
    assert [row.pk for row in archived] == ids
    assert [(r.external_id, str(r.value_byn)) for r in archived] == [(ext, v) for ext, *_, v in APRIL]


def test_rejected_resubmission_archives_nothing():
    operator, _march, april = _filed()
    bad = _april(operator, [*APRIL_AGAIN, ("A-9", "2025-05-02", "OUT", "i", "okx", "1")])  # outside the period
    assert bad.status == FilingStatus.REJECTED
    assert ArchivedTransfer.objects.count() == 0
    assert CrossBorderTransfer.objects.filter(filing=april).count() == len(APRIL)


def test_as_known_at_reproduces_a_run_after_two_resubmissions():
    operator, march, april = _filed()
    first = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    stored = _stored(first)
    assert any(row["dimension"] == "platform" for row in stored)
    assert first.excess_return_byn > 0
    second_april = _april(operator, APRIL_AGAIN)
    third_april = _april(operator, APRIL_THIRD)
    ForeignPlatform.objects.filter(slug="okx").update(country="SC")  # the registry changes too
    now = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    assert now.input_fingerprint != first.input_fingerprint  # the live figure moved on
    assert now.input_rows == len(MARCH) + len(APRIL_THIRD)
    assert run_inputs(run=now).filing_ids == [march.pk, third_april.pk]
    assert ArchivedTransfer.objects.filter(filing__in=[april, second_april]).count() == len(APRIL) + len(APRIL_AGAIN)

    again = _as_known_at(first.pk)
    assert again["reproduced"] is True
    assert again["rows"] == _json_rows(stored)
    assert _rederived(first.pk) == stored  # every stat of every cell
    assert again["input_fingerprint"] == first.input_fingerprint
    assert again["input_rows"] == first.input_rows == len(MARCH) + len(APRIL)
    assert again["excess_return_byn"] == str(first.excess_return_byn)
    assert again["filings"] == [[march.pk, march.sha256], [april.pk, april.sha256]]
    # The run itself is untouched and nothing new is stored.
    assert OutflowRunFiling.objects.filter(run=first).count() == 2
    assert _stored(first) == stored


@pytest.mark.parametrize("reader", ["copy", "orm"])
def test_every_reader_re_derives_the_same(reader):
    operator, _march, _april_filing = _filed()
    first = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    _april(operator, APRIL_AGAIN)
    found = outflow_rederive(run=first, reader=reader)
    assert found.reproduced, found.differences
    assert found.uncertainty_same in (True, None)


def test_a_changed_input_is_reported_and_the_command_fails():
    _operator, march, _april_filing = _filed()
    first = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    # A row of a filing the run read, changed behind the intake's back: the fingerprint tells.
    CrossBorderTransfer.objects.filter(filing=march, external_id="M-1").update(value_byn="999.00")
    found = outflow_rederive(run=first)
    assert not found.reproduced
    assert not found.fingerprint_same
    assert ("overall", "all", "all") in [d["cell"] for d in found.differences]
    with pytest.raises(CommandError, match="not reproduced"):
        call_command("compute_outflows", "--as-known-at", str(first.pk), stdout=io.StringIO())


def test_runs_without_a_record_or_unfinished_are_refused():
    _filed()
    run = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    run.input_registry.delete()
    with pytest.raises(RunNotRederivable, match="recorded"):
        outflow_rederive(run=run)
    with pytest.raises(CommandError, match="not a finished run"):
        call_command("compute_outflows", "--as-known-at", "999999", stdout=io.StringIO())


def test_a_fanned_out_run_records_the_same_inputs():
    operator, march, april = _filed()
    plan = outflow_fan_out_begin(as_of=AS_OF, window_days=WINDOW, partitions=2)
    partials = [json.loads(json.dumps(outflow_partition_compute(plan, p))) for p in range(2)]
    run = outflow_fan_out_finish(json.loads(json.dumps(plan)), partials)
    assert run_inputs(run=run).filings == [[march.pk, march.sha256], [april.pk, april.sha256]]
    _april(operator, APRIL_AGAIN)
    assert outflow_rederive(run=run).reproduced


def test_run_rows_are_the_rows_the_run_read_after_a_resubmission():
    operator, _march, _april_filing = _filed()
    first = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    _april(operator, APRIL_AGAIN)
    rows = run_rows(run=first)
    live, archived = rows.filter(archived=False), rows.filter(archived=True)
    assert sorted(live.values_list("external_id", flat=True)) == sorted(ext for ext, *_ in MARCH)
    assert sorted(archived.values_list("external_id", flat=True)) == sorted(ext for ext, *_ in APRIL)
    assert live.count() + archived.count() == first.input_rows


def clients(rows: list[tuple]) -> bytes:
    lines = ["investor_ref,residency_country,registered_at,kyc_level\n"]
    lines += [f"{investor},{country},{day},{level}\n" for investor, country, day, level in rows]
    return "".join(lines).encode()


def _client_register(operator, rows, *, start=date(2025, 1, 1), end=date(2025, 3, 31)):
    filing = submit(operator, clients(rows), kind="client_register", start=start, end=end).filing
    assert filing.status == FilingStatus.ACCEPTED
    return filing


def test_residency_and_kyc_cells_are_re_derived_after_a_client_register_is_resubmitted():
    operator, march, april = _filed()
    first_clients = _client_register(operator, [("inv1", "BY", "2025-01-05", "standard"),
                                                ("inv2", "RU", "2025-02-01", "enhanced")])  # fmt: skip
    first = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    stored = _stored(first)
    assert ("residency", "BY") in {(row["dimension"], row["key"]) for row in stored}
    assert run_inputs(run=first).filing_ids == sorted([march.pk, april.pk, first_clients.pk])
    # The client register of the quarter filed again (inv1 now elsewhere), and a later quarter's filed late.
    again = _client_register(operator, [("inv1", "PL", "2025-01-05", "simplified")])
    first_clients.refresh_from_db()
    assert first_clients.status == FilingStatus.SUPERSEDED
    assert sorted(ArchivedClientRecord.objects.filter(filing=first_clients).values_list("investor_ref", flat=True)) == [
        "inv1",
        "inv2",
    ]
    _client_register(operator, [("inv1", "LT", "2025-04-01", "enhanced")], start=date(2025, 4, 1),
                     end=date(2025, 6, 30))  # fmt: skip
    now = outflow_run_compute(as_of=AS_OF, window_days=WINDOW)
    assert {row["key"] for row in _stored(now) if row["dimension"] == "residency"} != {
        row["key"] for row in stored if row["dimension"] == "residency"
    }
    assert again.pk in run_inputs(run=now).filing_ids
    found = _as_known_at(first.pk)
    assert found["reproduced"] is True
    assert found["rows"] == _json_rows(stored)
    assert _rederived(first.pk) == stored  # the residency and KYC cells too

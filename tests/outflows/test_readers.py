"""The reader seam (outflows/readers/): every reader gives the same arrays; settings.OUTFLOW_READER picks one."""

import numpy as np
import pytest
from django.db import connection

from outflows import readers
from outflows.models import CrossBorderTransfer
from outflows.readers import arrow, orm, pgcopy
from outflows.readers.binary import ticker_of
from outflows.services import outflow_run_compute
from tests.outflows.factories import BASE, add_transfers, random_transfers, transfer

AS_OF = BASE.replace(year=BASE.year + 3)

needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY and ADBC read PostgreSQL")


def canonical(raw: readers.RawTransfers) -> np.ndarray:
    """The rows in one order, each investor by the hash of its name (codes are per reader): comparable."""
    rows = np.stack(
        [
            raw.investor_hash[raw.investor].astype(np.int64),
            raw.platform_id,
            raw.operator_id,
            raw.occurred_at,
            raw.is_in.astype(np.int64),
            raw.value,
        ]
    )
    return rows[:, np.lexsort(rows[::-1])]


def assert_same(a: readers.RawTransfers, b: readers.RawTransfers) -> None:
    assert len(a.investor) == len(b.investor)
    for field in ("investor", "platform_id", "occurred_at", "operator_id", "value"):
        assert getattr(a, field).dtype == getattr(b, field).dtype == np.int64, field
    assert a.is_in.dtype == b.is_in.dtype == np.bool_
    assert a.investor_hash.dtype == b.investor_hash.dtype == np.uint64
    # Dense codes: 0..k-1, one per distinct name, in any numbering.
    assert sorted(set(a.investor.tolist())) == list(range(len(a.investor_hash)))
    assert sorted(a.investor_hash.tolist()) == sorted(b.investor_hash.tolist())
    assert np.array_equal(canonical(a), canonical(b))
    assert readers.fingerprint(a) == readers.fingerprint(b)


def odd_rows():
    names = ["инвестор-1", "tab\there", "x" * 64, "a", "A", "y" * 20 + "a", "y" * 20 + "b", "emoji-😀"]
    rows = list(random_transfers(400, seed=21))
    rows += [transfer("OUT", "12345678.99", day=1, investor=name) for name in names]
    rows += [transfer("IN", "0.01", day=2, investor=name) for name in names]
    return rows


@needs_postgresql
@pytest.mark.django_db
def test_copy_and_orm_readers_give_identical_arrays():
    add_transfers(*odd_rows())
    assert_same(readers.read_transfers(as_of=AS_OF, reader="copy"), readers.read_transfers(as_of=AS_OF, reader="orm"))


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_adbc_reader_gives_the_copy_readers_arrays():
    """Only where adbc-driver-postgresql and pyarrow are installed (not in requirements: bench/README_outflows.md)."""
    if not arrow.available():
        pytest.skip("adbc-driver-postgresql and pyarrow are not installed")
    add_transfers(*odd_rows())
    by_copy = readers.read_transfers(as_of=AS_OF, reader="copy")
    assert_same(readers.read_transfers(as_of=AS_OF, reader="adbc"), by_copy)
    # In a run's own REPEATABLE READ transaction, on its exported snapshot, split in two block ranges.
    by_adbc_run = outflow_run_compute(as_of=AS_OF, reader="adbc")
    assert by_adbc_run.input_fingerprint == readers.fingerprint(by_copy)
    parts = [readers.read_transfers(as_of=AS_OF, reader="adbc", partition=(p, 2)) for p in range(2)]
    assert sum(len(p.investor) for p in parts) == len(by_copy.investor)


@pytest.mark.django_db
def test_the_setting_switches_the_reader(settings, monkeypatch):
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    used = []
    for module, name in ((pgcopy, "read_transfers_copy"), (orm, "read_transfers_orm"), (arrow, "read_transfers_adbc")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda real=real, name=name, **kwargs: used.append(name) or real(**kwargs))

    settings.OUTFLOW_READER = "orm"  # the hand-written client off
    assert readers.reader_for_run() == "orm"
    assert not readers.partitions_supported()  # no fan-out without a reader that selects partitions
    orm_run = outflow_run_compute(as_of=AS_OF)
    assert used == ["read_transfers_orm"]

    settings.OUTFLOW_READER = "copy"
    used.clear()
    copy_run = outflow_run_compute(as_of=AS_OF)
    if connection.vendor == "postgresql":
        assert readers.reader_for_run() == "copy"
        assert readers.partitions_supported()
        assert used == ["read_transfers_copy"]
    else:
        assert used == ["read_transfers_orm"]  # COPY needs PostgreSQL: the portable reader instead
    assert copy_run.input_fingerprint == orm_run.input_fingerprint

    # ADBC's own connections cannot see this test's transaction: the portable reader reads it.
    settings.OUTFLOW_READER = "adbc"
    assert readers.reader_for_run() == "orm"

    settings.OUTFLOW_READER = "fast"
    with pytest.raises(ValueError, match="unknown reader"):
        readers.reader_for_run()
    assert readers.reader_for_run("orm") == "orm"  # a reader named by the caller is used as it is


def assets_and_amounts(raw: readers.RawTransfers) -> list[tuple]:
    """Each row's (investor hash, instant, value, ticker, amount), sorted: comparable between readers."""
    tickers = [ticker_of(int(code)) for code in raw.asset_tickers]
    assert tickers == sorted(tickers)  # dense codes in ticker order
    return sorted(
        zip(raw.investor_hash[raw.investor].tolist(), raw.occurred_at.tolist(), raw.value.tolist(),
            [tickers[code] for code in raw.asset.tolist()], raw.amount.tolist(), strict=True)
    )  # fmt: skip


@needs_postgresql
@pytest.mark.django_db
def test_copy_and_orm_readers_give_the_same_assets_and_amounts(settings):
    """The variants' columns: int16 dense codes in ticker order (600 tickers: the COPY reader's table grows)."""
    settings.OUTFLOW_VARIANTS = True
    add_transfers(*odd_rows(), *(transfer("OUT", "10.00", day=k % 300, investor=f"extra-{k}") for k in range(300)))
    tickers = ["USDT", "BTC", "ETH", "A1", "ZZ", "0X", *(f"T{i:03d}" for i in range(600))]
    for k, pk in enumerate(CrossBorderTransfer.objects.order_by("id").values_list("id", flat=True)):
        CrossBorderTransfer.objects.filter(pk=pk).update(asset=tickers[k % len(tickers)], amount=f"{k}.12345678")
    by_copy = readers.read_transfers(as_of=AS_OF, reader="copy")
    by_orm = readers.read_transfers(as_of=AS_OF, reader="orm")
    assert by_copy.asset.dtype == by_orm.asset.dtype == np.int16
    assert assets_and_amounts(by_copy) == assets_and_amounts(by_orm)
    assert len(by_copy.asset_tickers) == len(tickers)  # more than the first ticker table holds

"""Portable reader: the transfers through the ORM (any database Django supports)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from outflows import engine
from outflows.models import ArchivedTransfer, CrossBorderTransfer, Direction
from outflows.readers.binary import AMOUNT_MAX, ticker_code
from outflows.readers.raw import RawTransfers


def read_transfers_orm(*, as_of: dt.datetime, filings: Sequence[int] | None = None) -> RawTransfers:
    """Portable reader: one streamed query through the ORM, no per-row model objects.

    filings: only the live and archived rows of these filings (a re-derivation, outflows/readers/source.py).
    """
    codes: dict[str, int] = {}
    hashes: list[int] = []
    inv, plat, when, is_in, op, val = [], [], [], [], [], []
    columns = ("investor_ref", "platform_id", "occurred_at", "direction", "operator_id", "value_byn", "asset", "amount")
    variants = settings.OUTFLOW_VARIANTS  # also the amount and asset (outflows.variants), as the COPY reader
    asset, amount = [], []
    rows = CrossBorderTransfer.objects.filter(occurred_at__lte=as_of).values_list(*columns)
    if filings is not None:
        archived = ArchivedTransfer.objects.filter(occurred_at__lte=as_of, filing_id__in=filings)
        rows = rows.filter(filing_id__in=filings).union(archived.values_list(*columns), all=True)
    rows = rows.iterator(chunk_size=10_000)
    for investor_ref, platform_id, occurred_at, direction, operator_id, value_byn, ticker, units in rows:
        code = codes.get(investor_ref)
        if code is None:
            code = codes[investor_ref] = len(codes)
            hashes.append(engine.fnv1a64(investor_ref.encode()))
        inv.append(code)
        plat.append(platform_id)
        when.append(engine.epoch_us(occurred_at))
        is_in.append(direction == Direction.IN)
        op.append(operator_id)
        val.append(int(value_byn.scaleb(2)))  # exact: value_byn has two decimal places
        if variants:
            asset.append(ticker)
            amount.append(min(int(units.scaleb(8)), AMOUNT_MAX))  # digits beyond 10**-8 dropped
    tickers, asset_codes = np.unique(np.asarray(asset, dtype=object), return_inverse=True) if asset else ([], [])
    return RawTransfers(
        investor=np.asarray(inv, dtype=np.int64),
        investor_hash=np.asarray(hashes, dtype=np.uint64),
        platform_id=np.asarray(plat, dtype=np.int64),
        occurred_at=np.asarray(when, dtype=np.int64),
        is_in=np.asarray(is_in, dtype=bool),
        operator_id=np.asarray(op, dtype=np.int64),
        value=np.asarray(val, dtype=np.int64),
        asset=np.asarray(asset_codes, dtype=np.int16) if variants else None,
        amount=np.asarray(amount, dtype=np.int64) if variants else None,
        asset_tickers=np.asarray([ticker_code(t) for t in tickers], dtype=np.int64) if variants else None,
    )

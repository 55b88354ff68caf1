"""Each outbound's investor residency and KYC level, from the client register valid at its date (issue 17 item 2).

The register valid at an outbound's instant: among the records of the
outbound's reporting operator for its investor_ref, in accepted client
registers, those in force at that instant - from the later of the record's
registered_at and its register's period start (the first moment of that day
in Minsk) - and of them the latest in force (a later register's record of
the same date wins). No such record: the class "-" (variants.NO_CLASS).

Investors are matched by the FNV-1a 64 hash of investor_ref that every
reader gives per investor code (RawTransfers.investor_hash).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt

import numpy as np
from numba import njit

from filings.models import ArchivedClientRecord
from operators.models import ClientRecord, FilingKind, FilingStatus
from outflows import engine
from outflows.variants import NO_CLASS

MINSK = engine.MINSK


@njit(cache=True, nogil=True)
def _fnv_many(data, starts):
    out = np.empty(starts.shape[0] - 1, np.uint64)
    for k in range(starts.shape[0] - 1):
        h = np.uint64(0xCBF29CE484222325)
        for i in range(starts[k], starts[k + 1]):
            h = (h ^ np.uint64(data[i])) * np.uint64(0x100000001B3)
        out[k] = h
    return out


@njit(cache=True, nogil=True)
def _lookup(rec_key, rec_from, rec_res, rec_kyc, row_key, row_t, is_in):
    """For each OUT row, the classes of the last record (by key, then in-force instant) in force at its instant."""
    n = row_key.shape[0]
    res = np.zeros(n, np.int16)  # a few hundred classes at most: a quarter of int64's memory
    kyc = np.zeros(n, np.int16)
    for i in range(n):
        if is_in[i]:
            continue
        k, t = row_key[i], row_t[i]
        lo, hi = 0, rec_key.shape[0]
        while lo < hi:  # the first record after (k, t)
            mid = (lo + hi) // 2
            if rec_key[mid] < k or (rec_key[mid] == k and rec_from[mid] <= t):
                lo = mid + 1
            else:
                hi = mid
        if lo > 0 and rec_key[lo - 1] == k:
            res[i] = rec_res[lo - 1]
            kyc[i] = rec_kyc[lo - 1]
    return res, kyc


def _day_start_us(day: dt.date) -> int:
    return engine.epoch_us(dt.datetime(day.year, day.month, day.day, tzinfo=MINSK))


# A re-derived run (outflows.rederive) reads the client registers it recorded, live or archived since.
_of_filings: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("client_filings", default=None)
_FIELDS = ("operator_id", "investor_ref", "residency_country", "kyc_level", "registered_at", "filing__period_start",
           "filing_id")  # fmt: skip


@contextlib.contextmanager
def records_of_filings(filings: list[int]):
    """Within it, client_classes reads the records of exactly these filings (ClientRecord and
    filings' ArchivedClientRecord), whatever their status now: the registers a past run read."""
    token = _of_filings.set(list(filings))
    try:
        yield
    finally:
        _of_filings.reset(token)


def _records(operator_ids: list[int]) -> list[tuple]:
    filings = _of_filings.get()
    if filings is None:
        return list(
            ClientRecord.objects.filter(
                filing__kind=FilingKind.CLIENT_REGISTER, filing__status=FilingStatus.ACCEPTED,
                operator_id__in=operator_ids,
            ).values_list(*_FIELDS)
        )  # fmt: skip
    live = ClientRecord.objects.filter(filing_id__in=filings, operator_id__in=operator_ids).values_list(*_FIELDS)
    archived = ArchivedClientRecord.objects.filter(filing_id__in=filings, operator_id__in=operator_ids)
    return list(live) + list(archived.values_list(*_FIELDS))


def client_classes(
    *, investor: np.ndarray, investor_hash: np.ndarray, operator: np.ndarray, operator_ids: list[int],
    occurred_at: np.ndarray, is_in: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:  # fmt: skip
    """(residency code, KYC code per row, residency keys, KYC keys); code 0 is NO_CLASS; IN rows get 0.

    operator: the rows' positions in operator_ids (database ids in the registry's order).
    """
    records = _records(operator_ids)
    n = len(investor)
    if not records or n == 0:
        return np.zeros(n, np.int16), np.zeros(n, np.int16), [NO_CLASS], [NO_CLASS]
    residency_keys = [NO_CLASS, *sorted({r[2] for r in records})]
    kyc_keys = [NO_CLASS, *sorted({r[3] for r in records})]
    encoded = [r[1].encode() for r in records]
    starts = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    hashes = _fnv_many(np.frombuffer(b"".join(encoded), np.uint8), starts)
    by_hash = np.argsort(investor_hash, kind="stable")
    at = np.minimum(np.searchsorted(investor_hash[by_hash], hashes), len(by_hash) - 1)
    found = investor_hash[by_hash][at] == hashes
    position = {pk: i for i, pk in enumerate(operator_ids)}
    n_investors = max(1, len(investor_hash))
    rec_key = np.array([position[r[0]] for r in records], np.int64) * n_investors + by_hash[at]
    rec_from = np.array([_day_start_us(max(r[4], r[5])) for r in records], np.int64)
    rec_res = np.array([residency_keys.index(r[2]) for r in records], np.int64)
    rec_kyc = np.array([kyc_keys.index(r[3]) for r in records], np.int64)
    rec_filing = np.array([r[6] for r in records], np.int64)
    keep = np.flatnonzero(found)  # records of investors with no transfer in the run are not needed
    order = keep[np.lexsort((rec_filing[keep], rec_from[keep], rec_key[keep]))]
    res, kyc = _lookup(
        rec_key[order], rec_from[order], rec_res[order], rec_kyc[order],
        operator.astype(np.int64) * n_investors + investor, occurred_at, is_in,
    )  # fmt: skip
    return res, kyc, residency_keys, kyc_keys

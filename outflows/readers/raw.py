"""What every transfer reader returns, and the fingerprint of it.

RawTransfers is the contract of `outflows.readers`: each reader gives the
engine the same arrays for the same rows (tested), in any row order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass
class RawTransfers:
    """Transfers with database ids for platform and operator (not yet indexes)."""

    investor: np.ndarray  # int64 dense code
    investor_hash: np.ndarray  # uint64 FNV-1a of investor_ref's UTF-8, per code (stable across readers)
    platform_id: np.ndarray
    occurred_at: np.ndarray  # int64 µs since the Unix epoch
    is_in: np.ndarray  # bool
    operator_id: np.ndarray
    value: np.ndarray  # int64 kopecks
    # For the variants (outflows.variants), when the reader read them: the asset as an int16 dense code in
    # ticker order, the tickers packed (binary.ticker_of) in that order, and the amount in units of
    # 10**-8. Not part of the fingerprint.
    asset: np.ndarray | None = None
    amount: np.ndarray | None = None
    asset_tickers: np.ndarray | None = None


def fingerprint(raw: RawTransfers) -> str:
    """A digest of exactly what the figures depend on, in no particular row order.

    Each row's investor, platform, operator, instant, direction and value are
    mixed into one 64-bit word; the words are summed modulo 2**64 (order-free,
    so both readers agree) next to the row count. Same fingerprint: same input,
    same figures. It costs no extra query, unlike a digest over ids.
    """
    return fingerprint_digest(*fingerprint_parts(raw))


def fingerprint_parts(raw: RawTransfers) -> tuple[int, int]:
    """(rows, sum of the row words mod 2**64): partitions' parts add up to the whole input's."""
    total = _fingerprint_sum(
        raw.investor_hash, raw.investor, raw.platform_id, raw.operator_id, raw.occurred_at, raw.is_in, raw.value
    )
    return len(raw.investor), int(total)


def fingerprint_digest(rows: int, total: int) -> str:
    return hashlib.sha256(f"{rows}:{total % 2**64}".encode()).hexdigest()


@njit(cache=True, inline="always")
def _mix(word, value):
    word = (word ^ np.uint64(value)) * np.uint64(0x9E3779B97F4A7C15)
    return word ^ (word >> np.uint64(31))


@njit(cache=True, nogil=True)
def _fingerprint_sum(investor_hash, investor, platform_id, operator_id, occurred_at, is_in, value):
    # One compiled pass over the columns (numpy would take one pass per operation).
    total = np.uint64(0)
    for i in range(investor.shape[0]):
        word = investor_hash[investor[i]]
        word = _mix(word, platform_id[i])
        word = _mix(word, operator_id[i])
        word = _mix(word, occurred_at[i])
        word = _mix(word, is_in[i])
        word = _mix(word, value[i])
        total += word
    return total

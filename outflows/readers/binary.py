"""The compiled decoder of PostgreSQL binary COPY rows (used by `outflows.readers.pgcopy`).

One pass parses the rows of `COPY_SQL` (outflows/readers/pgcopy.py), decodes the
numbers, and turns investor_ref strings into dense integer codes with an exact
hash table (the bytes are compared, not only their hashes), so two investors
can never be merged. Measured figures and history: bench/README_outflows.md.

Why one module of about 420 lines: the row layout of `COPY_SQL`, the compiled decode of its fields
(numerics, tickers, investor names into their tables) and the buffers `_Decoder` grows for it change
together; the decode is one compiled loop that inlines the field decoders.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from outflows.readers.raw import RawTransfers

PG_EPOCH_US = 946_684_800 * 1_000_000  # PostgreSQL's binary timestamps count from 2000-01-01 UTC

# The fixed-width fields of a COPY_SQL row after investor_ref, in order; COPY_SQL_VARIANTS
# adds amount (units of 10**-8, a row of `out` too) and asset (its ticker packed, `ticker_code`, then a
# dense int16 code in order of first appearance: `assets`, through the small table `tickers`).
N_INT_FIELDS = 3
F_TIME, F_VALUE, F_PACKED, F_AMOUNT, F_ASSET = range(5)
ASSET_CODES_MAX = np.iinfo(np.int16).max  # distinct tickers a read can hold
AMOUNT_MAX = np.iinfo(np.int64).max  # an amount of 9.2e10 units or more saturates here


@njit(cache=True, inline="always")
def _log2(size):
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return bits


@njit(cache=True, inline="always")
def _slot(h, shift):
    # Fibonacci hashing: FNV-1a's low bits are weak, its high bits after this multiply are not.
    return np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> shift)


@njit(cache=True, inline="always")
def _prefix(data, start, length, skip):
    # Up to 8 bytes of a string from data[start + skip:], little-endian, zero-padded.
    word = np.int64(0)
    for k in range(skip, min(length, skip + 8)):
        word |= np.int64(data[start + k]) << np.int64(8 * (k - skip))
    return word


@njit(cache=True, inline="always")
def _numeric_kopecks(buf, p):
    """A binary numeric(18,2) as whole kopecks, exactly.

    The wire format: int16 ndigits, weight, sign, dscale, then ndigits base-10000
    digits, the first worth 10000**weight. With two decimals the only fractional
    digit is at weight -1 and is a multiple of 100 (0.57 is the digit 5700).
    """
    ndigits = (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])
    weight = (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])
    if weight >= 0x8000:
        weight -= 0x10000
    sign = (np.int64(buf[p + 4]) << 8) | np.int64(buf[p + 5])
    kopecks = np.int64(0)
    for i in range(ndigits):
        digit = (np.int64(buf[p + 8 + 2 * i]) << 8) | np.int64(buf[p + 9 + 2 * i])
        power = weight - i
        if power >= 0:
            scale = np.int64(100)
            for _ in range(power):
                scale *= 10000
            kopecks += digit * scale
        elif power == -1:
            kopecks += digit // 100
    return -kopecks if sign == 0x4000 else kopecks


@njit(cache=True, inline="always")
def _numeric_units(buf, p):
    """A binary numeric as whole units of 10**-8 (digits beyond dropped), AMOUNT_MAX when it does not fit."""
    ndigits = (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])
    weight = (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])
    if weight >= 0x8000:
        weight -= 0x10000
    units = np.int64(0)
    for i in range(ndigits):
        digit = (np.int64(buf[p + 8 + 2 * i]) << 8) | np.int64(buf[p + 9 + 2 * i])
        power = weight - i
        if power >= 3:
            return AMOUNT_MAX
        if power >= 0:
            scale = np.int64(100_000_000)
            for _ in range(power):
                scale *= 10000
            if digit > (AMOUNT_MAX - units) // scale:
                return AMOUNT_MAX
            units += digit * scale
        elif power >= -2:  # the fraction's digits can still pass AMOUNT_MAX (92233720368.54775808)
            part = digit * 10000 if power == -1 else digit
            if part > AMOUNT_MAX - units:
                return AMOUNT_MAX
            units += part
    return units


@njit(cache=True, inline="always")
def _ticker_code(buf, p, length):
    """A ticker ([A-Z0-9]{2,10}) as one int64, exactly; codes sort like the tickers (see `ticker_of`)."""
    code = np.int64(0)
    for k in range(10):
        d = np.int64(0)
        if k < length:
            ch = np.int64(buf[p + k])
            d = ch - 47 if ch <= 57 else ch - 54  # '0'-'9' -> 1-10, 'A'-'Z' -> 11-36
        code = code * 37 + d
    return code


def ticker_code(ticker: str) -> int:
    """`_ticker_code` of a ticker string (the ORM reader's)."""
    code = 0
    for k in range(10):
        d = 0
        if k < len(ticker):
            ch = ord(ticker[k])
            d = ch - 47 if ch <= 57 else ch - 54
        code = code * 37 + d
    return code


def ticker_of(code: int) -> str:
    """The ticker a `_ticker_code` stands for."""
    chars = []
    for _ in range(10):
        code, d = divmod(code, 37)
        if d:
            chars.append(chr(d + 47) if d <= 10 else chr(d + 54))
    return "".join(reversed(chars))


@njit(cache=True)
def _rehash(table, str_hash, str_loc, store, n_codes):
    mask = table.shape[0] - 1
    shift = np.uint64(64 - _log2(table.shape[0]))
    table[:, 1] = -1
    for code in range(n_codes):
        slot = _slot(str_hash[code], shift)
        while table[slot, 1] != -1:
            slot = (slot + 1) & mask
        off, length = str_loc[code, 0], str_loc[code, 1]
        table[slot, 0] = np.int64(str_hash[code])
        table[slot, 1] = (np.int64(code) << 16) | length
        table[slot, 2] = _prefix(store, off, length, 0)
        table[slot, 3] = _prefix(store, off, length, 8)


# Rows decoded per batch. A probe of the investor table is a trip to memory at national
# scale (over a million investors), so a batch first parses its rows and touches each
# row's slot (independent loads the CPU overlaps), then codes them from cache.
BATCH = 64
MAX_NAME_BYTES = 256  # varchar(64) in UTF-8


@njit(cache=True, inline="always")
def _int4(buf, p):
    return (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16) | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])


@njit(cache=True, inline="always")
def _asset_code(tickers, state, code):
    """The dense code of a ticker code: tickers is open addressing, slot = [ticker code, dense code or -1];
    state[3] = the codes given so far (a new ticker takes the next)."""
    mask = tickers.shape[0] - 1
    slot = np.int64((np.uint64(code) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while tickers[slot, 1] != -1:
        if tickers[slot, 0] == code:
            return tickers[slot, 1]
        slot = (slot + 1) & mask
    tickers[slot, 0] = code
    tickers[slot, 1] = state[3]
    state[3] += 1
    return tickers[slot, 1]


@njit(cache=True, nogil=True)
def _decode(buf, pos, end, row, out, inv, table, store, state, str_loc, str_hash, assets, tickers):
    """Decode whole rows of buf[pos:end] into out[:, row:], inv[row:] (and assets[row:] with the variants).

    table: open addressing, slot = [hash, code << 16 | length, bytes 0-7,
    bytes 8-15]: a probe for a name of up to 16 bytes touches one cache line;
    longer names are compared with the rest of their bytes in store.
    str_loc[code] = [offset, length] in store. state = [n_codes, store_used,
    touched, asset codes]. Returns (pos, row, status): status 0 = need more input, 1 = end
    of data, 2 = out of room (rows, codes, string store or tickers) for the next batch.
    """
    # A direct-mapped cache of the tickers seen (a slot: ticker code, dense code): the rows' assets come
    # from few tickers in any order, and a hit costs a compare where the table's probe was a call.
    seen_ticker = np.full(64, -1, np.int64)
    seen_asset = np.zeros(64, np.int64)
    mask = table.shape[0] - 1
    shift = np.uint64(64 - _log2(table.shape[0]))
    cap = out.shape[1]
    name_at = np.empty(BATCH, np.int64)
    name_len = np.empty(BATCH, np.int64)
    name_hash = np.empty(BATCH, np.uint64)
    while True:
        n_codes = state[0]
        # No room is needed for the trailer (-1 fields): a stream of exactly `cap` rows must not grow.
        at_trailer = end - pos >= 2 and buf[pos] == 0xFF and buf[pos + 1] == 0xFF
        if not at_trailer and (
            row >= cap
            or n_codes + BATCH > str_hash.shape[0]
            or state[1] + BATCH * MAX_NAME_BYTES > store.shape[0]
            or 2 * (n_codes + BATCH + 1) > table.shape[0]
            or 2 * (state[3] + BATCH + 1) > tickers.shape[0]
        ):
            if row >= cap and end - pos < 2:
                return pos, row, 0  # the next bytes tell whether a row or the trailer comes
            return pos, row, 2
        # Pass 1: parse up to BATCH whole rows, decode their numbers, hash their names.
        status = -1
        batch = 0
        touched = np.int64(0)
        while batch < BATCH and row + batch < cap:
            if end - pos < 2:
                status = 0
                break
            n_fields = (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])
            if n_fields == 0xFFFF:  # -1: trailer
                pos += 2
                status = 1
                break
            # Check that the whole row is here before decoding anything of it.
            p = pos + 2
            complete = True
            for _ in range(n_fields):
                if end - p < 4:
                    complete = False
                    break
                p += 4 + _int4(buf, p)
                if p > end:
                    complete = False
                    break
            if not complete:
                status = 0
                break
            p = pos + 2
            length = _int4(buf, p)
            p += 4
            h = np.uint64(0xCBF29CE484222325)
            for k in range(length):
                h = (h ^ np.uint64(buf[p + k])) * np.uint64(0x100000001B3)
            name_at[batch] = p
            name_len[batch] = length
            name_hash[batch] = h
            p += length
            r = row + batch
            for f in range(n_fields - 1):
                length = _int4(buf, p)
                p += 4
                if f == F_VALUE:
                    out[f, r] = _numeric_kopecks(buf, p)
                elif f == F_AMOUNT:
                    out[f, r] = _numeric_units(buf, p)
                elif f == F_ASSET:
                    ticker = _ticker_code(buf, p, length)
                    slot = np.int64((np.uint64(ticker) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(58))
                    if seen_ticker[slot] != ticker:
                        seen_ticker[slot] = ticker
                        seen_asset[slot] = _asset_code(tickers, state, ticker)
                    assets[r] = seen_asset[slot]
                else:
                    v = np.int64(0)
                    for k in range(length):
                        v = (v << 8) | np.int64(buf[p + k])
                    if length < 8 and length > 0 and (buf[p] & 0x80):
                        v -= np.int64(1) << (8 * length)
                    out[f, r] = v
                p += length
            pos = p
            batch += 1
        # A tight loop of independent loads: the CPU keeps many in flight (inside the parsing
        # loop above, one row's work filled its window and the loads went one at a time).
        for b in range(batch):
            touched += table[_slot(name_hash[b], shift), 1]
        state[2] += touched  # keeps the touching loads from being optimised away
        # Pass 2: exact dense code of each name (the bytes are compared, not only the hashes).
        for b in range(batch):
            p, length, h = name_at[b], name_len[b], name_hash[b]
            hs = np.int64(h)
            p0 = _prefix(buf, p, length, 0)
            p1 = _prefix(buf, p, length, 8)
            slot = _slot(h, shift)
            code = -1
            while table[slot, 1] != -1:
                entry = table[slot, 1]
                same_slot = table[slot, 0] == hs and (entry & 0xFFFF) == length
                if same_slot and table[slot, 2] == p0 and table[slot, 3] == p1:
                    c = entry >> 16
                    same = True
                    if length > 16:  # the first 16 bytes were compared in the slot (and str_loc is a miss)
                        off = str_loc[c, 0]
                        for k in range(16, length):
                            if store[off + k] != buf[p + k]:
                                same = False
                                break
                    if same:
                        code = c
                        break
                slot = (slot + 1) & mask
            if code == -1:
                code = state[0]
                used = state[1]
                for k in range(length):
                    store[used + k] = buf[p + k]
                str_loc[code, 0] = used
                str_loc[code, 1] = length
                str_hash[code] = h
                table[slot, 0] = hs
                table[slot, 1] = (np.int64(code) << 16) | length
                table[slot, 2] = p0
                table[slot, 3] = p1
                state[0] = code + 1
                state[1] = used + length
            inv[row + b] = code
        row += batch
        if status >= 0:
            return pos, row, status


class _Decoder:
    """Holds the growing buffers of one COPY stream."""

    def __init__(self, expected_rows: int, *, variants: bool = False) -> None:
        # A quarter more than expected (the planner's estimate may lag): pages never written
        # cost nothing, and growing copies every buffer into fresh memory.
        cap = max(1024, expected_rows + expected_rows // 4)
        self.variants = variants  # the rows also carry amount and asset (COPY_SQL_VARIANTS)
        self.out = np.empty((N_INT_FIELDS + variants, cap), np.int64)
        self.assets = np.empty(cap if variants else 1, np.int16)
        self.tickers = np.full((1 << 10, 2), -1, np.int64)
        self.inv = np.empty(cap, np.int64)
        # Sized for the investors seen so far, not the rows: a small table stays in cache.
        self.table = np.full((1 << 16, 4), -1, np.int64)
        self.store = np.empty(1 << 20, np.uint8)
        self.state = np.zeros(4, np.int64)
        self.str_loc = np.empty((1 << 15, 2), np.int64)
        self.str_hash = np.empty(1 << 15, np.uint64)
        self.row = 0

    def grow(self) -> None:
        """Make room for the next batch (the predicates of `_decode`'s status 2)."""
        n_codes, used = int(self.state[0]), int(self.state[1])
        if self.row >= self.out.shape[1]:
            self.out = np.concatenate([self.out, np.empty_like(self.out)], axis=1)
            self.inv = np.concatenate([self.inv, np.empty_like(self.inv)])
        if n_codes + BATCH > self.str_hash.shape[0]:
            self.str_loc = np.concatenate([self.str_loc, np.empty_like(self.str_loc)])
            self.str_hash = np.concatenate([self.str_hash, np.empty_like(self.str_hash)])
        if used + BATCH * MAX_NAME_BYTES > self.store.shape[0]:
            self.store = np.concatenate([self.store, np.empty_like(self.store)])
        if 2 * (n_codes + BATCH + 1) > self.table.shape[0]:
            self.table = np.empty((self.table.shape[0] * 4, 4), np.int64)
            _rehash(self.table, self.str_hash, self.str_loc, self.store, n_codes)
        if self.row >= self.assets.shape[0] and self.variants:
            self.assets = np.concatenate([self.assets, np.empty_like(self.assets)])
        if 2 * (int(self.state[3]) + BATCH + 1) > self.tickers.shape[0]:
            if int(self.state[3]) + BATCH > ASSET_CODES_MAX:
                raise ValueError(f"more than {ASSET_CODES_MAX} distinct assets in one read")
            used = self.tickers[self.tickers[:, 1] >= 0]
            self.tickers = np.full((self.tickers.shape[0] * 4, 2), -1, np.int64)
            state = np.zeros(4, np.int64)
            for code, dense in sorted(used.tolist(), key=lambda entry: entry[1]):  # the same codes again
                _asset_code(self.tickers, state, code)
                assert state[3] == dense + 1

    def _tickers_in_order(self, n: int) -> np.ndarray:
        """The tickers read (packed, `ticker_code`) in ticker order; assets[:n] recoded to that order in place."""
        used = self.tickers[self.tickers[:, 1] >= 0]
        by_dense = np.empty(len(used), np.int64)
        by_dense[used[:, 1]] = used[:, 0]
        order = np.argsort(by_dense, kind="stable")
        rank = np.empty(len(order), np.int16)
        rank[order] = np.arange(len(order), dtype=np.int16)
        _recode_in_place(self.assets[:n], rank)
        return by_dense[order]

    def raw(self) -> RawTransfers:
        """The decoded rows, the packed column unpacked (in place: the decoder is spent)."""
        n = self.row
        operator_id, is_in = _unpack_in_place(self.out[F_TIME, :n], self.out[F_PACKED, :n])
        return RawTransfers(
            investor=self.inv[:n],
            investor_hash=self.str_hash[: int(self.state[0])].copy(),
            platform_id=self.out[F_PACKED, :n],
            occurred_at=self.out[F_TIME, :n],
            is_in=is_in,
            operator_id=operator_id,
            value=self.out[F_VALUE, :n],
            asset=self.assets[:n] if self.variants else None,
            asset_tickers=self._tickers_in_order(n) if self.variants else None,
            amount=self.out[F_AMOUNT, :n] if self.variants else None,
        )


@njit(cache=True, nogil=True)
def _recode_in_place(codes, rank):
    for i in range(codes.shape[0]):
        codes[i] = rank[codes[i]]


@njit(cache=True, nogil=True)
def _unpack_in_place(time, packed):
    # One pass, the times and platforms rewritten where they lie: no fresh arrays beyond
    # the two it returns (first-touched memory is slow to fault in).
    operator_id = np.empty(packed.shape[0], np.int64)
    is_in = np.empty(packed.shape[0], np.bool_)
    for i in range(packed.shape[0]):
        p = packed[i]
        is_in[i] = (p & 1) == 1
        operator_id[i] = (p & 0xFFFFFFFF) >> 1
        packed[i] = p >> 32
        time[i] += PG_EPOCH_US
    return operator_id, is_in

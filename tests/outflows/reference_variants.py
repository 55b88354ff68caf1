"""Obviously-correct references for issue 17 items 2 and 3: plain loops with deques, one per figure.

Transfers are dicts: id, investor, platform, country, operator (UNP), t (µs), direction, value (kopecks),
asset (ticker), amount (int, units of 10**-8), residency, kyc (keys; "-" when unknown).
Each function reads the definition of its figure line by line (outflows/variants.py's docstring).
"""

from collections import defaultdict, deque
from fractions import Fraction
from math import floor

from tests.outflows.reference import CURVE_DAYS, DAY_US, cohort_of


def _before(rows: list[dict], as_of_us: int) -> list[dict]:
    return [r for r in rows if r["t"] <= as_of_us]


def reference_cross_tabs(transfers: list[dict], *, as_of_us: int, window_days: int) -> dict:
    """The canonical FIFO per (investor, platform); cells by the new dimensions; excess by the return's keys.

    Walk order: instant, OUT before IN, operator UNP, then (outbounds the canonical order cannot tell apart)
    ticker. Returns {"cells": {(dimension, key, cohort): 10 metrics}, "excess": {dimension: {key: kopecks}}}.
    """
    window = window_days * DAY_US
    rows = _before(transfers, as_of_us)
    by_pair = defaultdict(list)
    for r in rows:
        by_pair[(r["investor"], r["platform"])].append(r)
    returned = defaultdict(list)  # outbound id -> [(return instant, kopecks)]
    excess = {"operator": defaultdict(int), "platform": defaultdict(int), "country": defaultdict(int)}
    for pair_rows in by_pair.values():
        pair_rows.sort(key=lambda r: (r["t"], r["direction"] != "OUT", r["operator"], r["asset"], r["id"]))
        queue = deque()
        for r in pair_rows:
            if r["direction"] == "OUT":
                queue.append([r, r["value"]])
                continue
            u = r["value"]
            while queue and queue[0][0]["t"] + window < r["t"]:
                queue.popleft()
            while u > 0 and queue:
                take = min(u, queue[0][1])
                queue[0][1] -= take
                u -= take
                returned[queue[0][0]["id"]].append((r["t"], take))
                if queue[0][1] == 0:
                    queue.popleft()
            if u:
                excess["operator"][r["operator"]] += u
                excess["platform"][r["platform"]] += u
                excess["country"][r["country"]] += u
    cells = defaultdict(lambda: [0] * 10)
    for r in rows:
        if r["direction"] != "OUT":
            continue
        matured = r["t"] + window <= as_of_us
        back = sum(a for _, a in returned[r["id"]])
        for dimension, key in (
            ("operator_platform", f"{r['operator']}:{r['platform']}"),
            ("operator_country", f"{r['operator']}:{r['country']}"),
            ("asset", r["asset"]),
            ("residency", r["residency"]),
            ("kyc", r["kyc"]),
        ):
            # operator x platform and operator x country: the whole window only (outflows.variant_summary)
            whole_only = dimension in ("operator_platform", "operator_country")
            for cohort in ("all",) if whole_only else (cohort_of(r["t"]), "all"):
                m = cells[(dimension, key, cohort)]
                if matured:
                    m[0] += r["value"]
                    m[1] += back
                    m[4] += 1
                    for k, days in enumerate(CURVE_DAYS):
                        m[6 + k] += sum(a for s, a in returned[r["id"]] if s - r["t"] <= days * DAY_US)
                else:
                    m[2] += r["value"]
                    m[3] += back
                    m[5] += 1
    return {"cells": dict(cells), "excess": {k: {kk: v for kk, v in d.items() if v} for k, d in excess.items()}}


def reference_investor_level(transfers: list[dict], *, as_of_us: int, window_days: int) -> dict:
    """FIFO per investor over every platform: {UNP: [matured outbound, returned to it]} (matured only)."""
    window = window_days * DAY_US
    rows = _before(transfers, as_of_us)
    by_investor = defaultdict(list)
    for r in rows:
        by_investor[r["investor"]].append(r)
    out = defaultdict(lambda: [0, 0])
    for investor_rows in by_investor.values():
        investor_rows.sort(key=lambda r: (r["t"], r["direction"] != "OUT", r["operator"], r["platform"], r["id"]))
        queue = deque()
        for r in investor_rows:
            matured = r["t"] + window <= as_of_us
            if r["direction"] == "OUT":
                queue.append([r, r["value"]])
                if matured:
                    out[r["operator"]][0] += r["value"]
                continue
            u = r["value"]
            while queue and queue[0][0]["t"] + window < r["t"]:
                queue.popleft()
            while u > 0 and queue:
                first = queue[0]
                take = min(u, first[1])
                first[1] -= take
                u -= take
                if first[0]["t"] + window <= as_of_us:
                    out[first[0]["operator"]][1] += take
                if first[1] == 0:
                    queue.popleft()
    return {k: v for k, v in out.items() if v[0]}


def reference_unit_based(transfers: list[dict], *, as_of_us: int, window_days: int) -> dict:
    """FIFO on amount per (investor, platform, asset); {UNP: [matured outbound value, returned value]}.

    A lot is the outbounds of one (investor, platform, asset, instant, operator); its returned value is
    floor(its value x units returned / its units).
    """
    window = window_days * DAY_US
    rows = _before(transfers, as_of_us)
    lots = {}  # (investor, platform, asset, instant, operator) -> [value, units, units returned]
    events = defaultdict(list)  # (investor, platform, asset) -> [(instant, 0 OUT / 1 IN, operator, lot or units)]
    for r in rows:
        queue_key = (r["investor"], r["platform"], r["asset"])
        if r["direction"] == "OUT":
            lot_key = (*queue_key, r["t"], r["operator"])
            if lot_key not in lots:
                lots[lot_key] = [0, 0, 0]
                events[queue_key].append((r["t"], 0, r["operator"], lot_key))
            lots[lot_key][0] += r["value"]
            lots[lot_key][1] += r["amount"]
        else:
            events[queue_key].append((r["t"], 1, r["operator"], r["amount"]))
    for queue_events in events.values():
        queue_events.sort(key=lambda e: e[:3])
        queue = deque()
        for t, is_in, _operator, what in queue_events:
            if not is_in:
                queue.append(what)
                continue
            units = what
            while queue and queue[0][3] + window < t:
                queue.popleft()
            while units > 0 and queue:
                lot = lots[queue[0]]
                take = min(units, lot[1] - lot[2])
                lot[2] += take
                units -= take
                if lot[2] == lot[1]:
                    queue.popleft()
    out = defaultdict(lambda: [0, 0])
    for (_i, _p, _a, t, operator), (value, units, back) in lots.items():
        if t + window <= as_of_us:
            out[operator][0] += value
            out[operator][1] += floor(Fraction(value * back, units)) if units else 0
    return {k: v for k, v in out.items() if v[0]}

"""An obviously-correct reference for DESIGN section 5: a plain loop with a deque.

Deliberately naive (per pair, per row, Python objects, zoneinfo per row) so
that it can be read against the definition line by line. The tests and the
benchmark compare the production engine with it.
"""

import datetime as dt
from collections import defaultdict, deque
from zoneinfo import ZoneInfo

MINSK = ZoneInfo("Europe/Minsk")
DAY_US = 86_400 * 1_000_000
CURVE_DAYS = (30, 90, 180, 365)


def cohort_of(t_us: int) -> str:
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t_us)
    return when.astimezone(MINSK).strftime("%Y-%m")


def reference_compute(transfers: list[dict], *, as_of_us: int, window_days: int) -> dict:
    """transfers: dicts with id, investor, platform, country, operator (UNP), t (µs), direction, value (kopecks).

    Returns {"returned": {id: kopecks}, "excess": kopecks, "cells": {(dimension, key, cohort): metrics}}
    with metrics [outbound, returned, pending_outbound, pending_returned, count, pending_count, r30, r90, r180, r365]
    and cohort "all" included.
    """
    window = window_days * DAY_US
    rows = [r for r in transfers if r["t"] <= as_of_us]
    by_pair = defaultdict(list)
    for r in rows:
        by_pair[(r["investor"], r["platform"])].append(r)
    returned = {r["id"]: 0 for r in rows if r["direction"] == "OUT"}
    gifts = defaultdict(list)  # outbound id -> [(return time, amount)]
    excess = 0
    for pair_rows in by_pair.values():
        pair_rows.sort(key=lambda r: (r["t"], 0 if r["direction"] == "OUT" else 1, r["operator"], r["id"]))
        queue = deque()
        for r in pair_rows:
            if r["direction"] == "OUT":
                queue.append([r, r["value"]])
                continue
            u = r["value"]
            while queue and queue[0][0]["t"] + window < r["t"]:
                queue.popleft()
            while u > 0 and queue:
                out = queue[0]
                take = min(u, out[1])
                out[1] -= take
                u -= take
                returned[out[0]["id"]] += take
                gifts[out[0]["id"]].append((r["t"], take))
                if out[1] == 0:
                    queue.popleft()
            excess += u
    cells = defaultdict(lambda: [0] * 10)
    for r in rows:
        if r["direction"] != "OUT":
            continue
        matured = r["t"] + window <= as_of_us
        for dimension, key in (
            ("overall", "all"),
            ("operator", r["operator"]),
            ("platform", r["platform"]),
            ("country", r["country"]),
        ):
            for cohort in (cohort_of(r["t"]), "all"):
                m = cells[(dimension, key, cohort)]
                if matured:
                    m[0] += r["value"]
                    m[1] += returned[r["id"]]
                    m[4] += 1
                    for k, days in enumerate(CURVE_DAYS):
                        m[6 + k] += sum(a for s, a in gifts[r["id"]] if s - r["t"] <= days * DAY_US)
                else:
                    m[2] += r["value"]
                    m[3] += returned[r["id"]]
                    m[5] += 1
    return {"returned": returned, "excess": excess, "cells": dict(cells)}

"""What the bootstrap interval (outflows.uncertainty) adds to a run, in memory, at bench/outflows.py's scale.

    flock /work/helpers/bench.lock .venv/bin/python bench/run_quality.py --rows 10000000

The same synthetic transfers as bench/outflows.py (seeded: about 8 per investor, 55 % OUT, 20 operators,
60 platforms, two years, as_of 2026-01-01, W = 365 days), as the engine's arrays; no database. Times, best
of --repeat: the canonical sort and sweep, the same keeping its sorted rows (the bootstrap's input), and the
bootstrap's 200 resamples on them, with its share of the sweep; a whole run's time (read + compute + store)
is in bench/README_outflows.md. Also the peak RSS.
"""

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from outflows import engine, uncertainty

SEED = 20250101
N_OPERATORS = 20
N_PLATFORMS = 60
START_S = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
SPAN_S = 2 * 365 * 86_400
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def arrays(rows: int) -> tuple[engine.TransferArrays, np.ndarray]:
    rng = np.random.default_rng(SEED)
    n_investors = max(1, rows // 8)
    investor = rng.integers(0, n_investors, rows)
    home = (investor * 7919) % N_PLATFORMS
    platform = np.where(rng.random(rows) < 0.85, home, rng.integers(0, N_PLATFORMS, rows))
    operator = (investor * 104729 + rng.integers(0, 3, rows)) % N_OPERATORS
    seconds = rng.integers(0, SPAN_S, rows)
    is_out = rng.random(rows) < 0.55
    cents = np.maximum(1, rng.lognormal(mean=11.0, sigma=1.2, size=rows).astype(np.int64))
    hashes = rng.integers(0, 2**63, n_investors).astype(np.uint64)
    transfers = engine.TransferArrays(
        investor=investor.astype(np.int64),
        platform=platform.astype(np.int64),
        occurred_at=(START_S + seconds).astype(np.int64) * 1_000_000,
        is_in=~is_out,
        operator=operator.astype(np.int64),
        value=cents,
    )
    return transfers, hashes


CPU = {}


def best(function, repeat: int) -> tuple[float, object]:
    """Best wall time of `repeat` calls (and, in CPU, the CPU seconds of that call, every thread)."""
    times, result = [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    wall, CPU[function] = min(times)
    return wall, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    transfers, hashes = arrays(args.rows)
    axis = engine.cohort_axis(transfers.occurred_at)
    kwargs = {
        "as_of_us": engine.epoch_us(AS_OF),
        "window_days": 365,
        "n_operators": N_OPERATORS,
        "n_platforms": N_PLATFORMS,
        "cohorts": axis,
    }
    engine.warm_up()
    canonical, _ = best(lambda: engine.compute(transfers, per_row=False, **kwargs), args.repeat)
    kept, result = best(lambda: engine.compute(transfers, per_row=False, keep_rows=True, **kwargs), args.repeat)

    def resample():
        return uncertainty.resample_sums(
            result.rows,
            investor_hash=hashes,
            matured_until_us=kwargs["as_of_us"] - 365 * engine.US_PER_DAY,
            n_operators=N_OPERATORS,
        )

    resample()  # compiled once (numba's cache)
    boot, (sums, investors) = best(resample, args.repeat)
    summary = uncertainty.summary(sums, investors, [str(o) for o in range(N_OPERATORS)])
    print(f"rows {args.rows:,}  investors with a matured outbound {int(investors[-1]):,}")
    cpu = list(CPU.values())
    print(f"canonical sweep (sort + FIFO)        {canonical:7.3f} s wall  {cpu[0]:7.3f} s CPU")
    print(f"the same, keeping the sorted rows    {kept:7.3f} s wall  {cpu[1]:7.3f} s CPU")
    print(
        f"bootstrap, {uncertainty.RESAMPLES} resamples          {boot:7.3f} s wall  {cpu[2]:7.3f} s CPU"
        f"  = {boot / canonical:.2f} x the sweep (wall)"
    )
    print(f"overall interval {summary['overall']['low']} - {summary['overall']['high']}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

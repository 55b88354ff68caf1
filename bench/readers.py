"""The outflow run's transfer readers against each other: hand-written COPY client vs ADBC.

    .venv/bin/python bench/outflows.py --rows 10000000 --database bench_outflows_sql --loader sql --no-reference
    PYTHON_WITH_ADBC=/tmp/adbcvenv/bin/python .venv/bin/python bench/readers.py --database bench_outflows_sql

The first command loads the data (once); this one times full runs
(`outflow_run_compute`: read, compute, store) on the same database, alternating
the readers ("copy", "adbc", "copy", ...; `--readers`) `--runs` times each, every run in a
fresh process (its own peak RSS; the compiled functions loaded before the
clock starts). Each run's input fingerprint and figures must equal the first
run's. Prints every run, then the ranges and the ratio adbc / copy. The ADBC
reader needs adbc-driver-postgresql and pyarrow: `PYTHON_WITH_ADBC` names an
interpreter that has them (default: this one).
"""

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.outflows import AS_OF, _setup_django  # noqa: E402

# "adbc" reads on two connections in a run (like "copy"), "adbc-one-stream" on one.
VARIANTS = ["copy", "adbc", "adbc-one-stream"]


def child(database: str, variant: str) -> None:
    _setup_django(database)
    from outflows import services
    from outflows.models import OutflowStat
    from outflows.readers import arrow

    reader = "adbc" if variant.startswith("adbc") else variant
    if variant == "adbc-one-stream":
        arrow.SPLIT_MIN_ROWS = 1 << 62  # one connection, as a plain ADBC fetch would be

    services.warm_up()
    services.outflow_compute(as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), reader=reader)  # loads this reader
    t0 = time.perf_counter()
    run = services.outflow_run_compute(as_of=AS_OF, window_days=365, reader=reader)
    elapsed = time.perf_counter() - t0
    stats = OutflowStat.objects.filter(run=run).order_by("dimension", "key", "cohort")
    figures = [str(v) for v in stats.values_list("outbound_value_byn", "returned_value_byn", "outbound_count")]
    print(
        json.dumps(
            {
                "reader": variant,
                "end_to_end_s": round(elapsed, 3),
                "read_s": run.timings["read_s"],
                "compute_s": run.timings["compute_s"],
                "store_s": run.timings["store_s"],
                "rows": run.input_rows,
                "fingerprint": run.input_fingerprint,
                "figures": hash(tuple(figures)),
                "non_return": str(stats.get(dimension="overall", key="all", cohort="all").non_return_share),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="bench_outflows_sql")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--readers", nargs="+", default=["copy", "adbc"], choices=VARIANTS)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database, args.child)
        return
    with_adbc = os.environ.get("PYTHON_WITH_ADBC", sys.executable)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    results = []
    for i in range(args.runs):
        for variant in args.readers:
            load = os.getloadavg()[0]
            python = sys.executable if variant == "copy" else with_adbc
            out = subprocess.run(
                [python, __file__, "--database", args.database, "--child", variant],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            result["load"] = round(load, 1)
            results.append(result)
            print(f"run {i + 1} {json.dumps(result)}", flush=True)
    first = results[0]
    same = all((r["rows"], r["fingerprint"], r["figures"]) == (first["rows"], first["fingerprint"], first["figures"])
               for r in results)  # fmt: skip
    print(f"same rows, fingerprint and figures in every run: {same}")
    for key in ("end_to_end_s", "read_s"):
        by = {variant: [r[key] for r in results if r["reader"] == variant] for variant in args.readers}
        median = {variant: statistics.median(times) for variant, times in by.items()}
        line = ", ".join(f"{v} {min(t):.2f}-{max(t):.2f} s (median {median[v]:.2f})" for v, t in by.items())
        ratios = "; ".join(f"{v} / copy {median[v] / median['copy']:.2f}" for v in by if v != "copy" and "copy" in by)
        print(f"{key:13s} {line}; {ratios}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Issue 17's speed target: the nightly run with everything issue 17 adds against the canonical run alone.

    flock /work/helpers/bench.lock .venv/bin/python bench/outflows_full.py --rows 10000000 --runs 3

Both sides are timed by the same harness, bench/outflows.py (one full `outflow_run_compute` in a
fresh process after the compiled functions are loaded: read from PostgreSQL, compute, store; peak
RSS of that process), alternating canonical and full runs in one benchmark run:

* canonical: the code as it was before issue 17 (commit --baseline, extracted with `git archive`
  into a scratch directory), on a database of its own (its schema has no issue 17 columns) loaded
  with the same server-side generator and seed (`--loader sql`): the same 10 M transfers;
* full: this tree, with the variants and cross-tabs (settings.OUTFLOW_VARIANTS), the coverage and
  the bootstrap interval, the run's inputs recorded (items 2-6 of issue 17);
* no-variants (--attribute): this tree with OUTFLOW_VARIANTS=0, to tell the variants' part from the rest.

Prints each run's end-to-end seconds and peak RSS, the medians and the ratio full / canonical.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "d8e5ee2"  # main just before the first issue 17 commit


def _extract(commit: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def _one(tree: Path, database: str, rows: int, env: dict, extra_env: dict | None = None) -> dict:
    env = {**env, **(extra_env or {})}
    command = [sys.executable, str(tree / "bench" / "outflows.py"), "--rows", str(rows), "--database", database,
               "--loader", "sql", "--no-reference"]  # fmt: skip
    done = subprocess.run(command, cwd=tree, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    out = done.stdout
    found = {
        "seconds": float(re.search(r"end to end\s+([\d.]+) s", out).group(1)),
        "peak_mb": float(re.search(r"peak RSS\s+([\d,]+) MB", out).group(1).replace(",", "")),
        "timings": re.search(r"run timings\s+(.*)", out).group(1),
        "share": re.search(r"non-return\s+(\S+)", out).group(1),
    }
    if "loading" in out:
        found["loaded"] = True
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default="bench_outflows_sql")
    parser.add_argument("--baseline-database", default="bench_outflows_canonical")
    parser.add_argument("--baseline", default=BASELINE, help="the commit whose code is the canonical run alone")
    parser.add_argument("--attribute", action="store_true", help="also time this tree without the variants")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": ""}
    with tempfile.TemporaryDirectory(prefix="outflows-baseline-") as scratch:
        baseline = Path(scratch)
        _extract(args.baseline, baseline)
        (baseline / ".venv").symlink_to(ROOT / ".venv")
        sides = {"canonical": (baseline, args.baseline_database, {}), "full": (ROOT, args.database, {})}
        if args.attribute:
            sides["no-variants"] = (ROOT, args.database, {"OUTFLOW_VARIANTS": "0"})
        for name, (tree, database, extra_env) in sides.items():  # loads each database when its row count differs
            print(f"prepare {name}: {_one(tree, database, args.rows, env, extra_env)}", flush=True)
        results: dict[str, list[dict]] = {name: [] for name in sides}
        for i in range(args.runs):
            for name, (tree, database, extra_env) in sides.items():
                found = _one(tree, database, args.rows, env, extra_env)
                results[name].append(found)
                print(f"run {i + 1} {name:11s} {found['seconds']:6.2f} s  peak {found['peak_mb']:,.0f} MB  "
                      f"share {found['share']}  {found['timings']}", flush=True)  # fmt: skip
    median = {name: statistics.median(r["seconds"] for r in runs) for name, runs in results.items()}
    peak = {name: max(r["peak_mb"] for r in runs) for name, runs in results.items()}
    for name in sides:
        print(f"{name:11s} median {median[name]:.2f} s, peak {peak[name]:,.0f} MB")
    ratios = [f["seconds"] / c["seconds"] for c, f in zip(results["canonical"], results["full"], strict=True)]
    print(f"ratio full / canonical: median {median['full'] / median['canonical']:.2f} "
          f"(per pair {', '.join(f'{r:.2f}' for r in ratios)}); target <= 1.5, peak < 2,048 MB")  # fmt: skip


if __name__ == "__main__":
    main()

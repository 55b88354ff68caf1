"""What each index of the transfer table costs the intake's COPY, in server CPU (issue 16, item 3).

    DATABASE_URL=postgres://portal@127.0.0.1:55432/portal .venv/bin/python bench/ingest.py --rows 1000000 --keep
    DATABASE_URL=postgres://portal@127.0.0.1:55432/portal .venv/bin/python bench/ingest_indexes.py [--rounds 3]

Reads the two registers `bench/ingest.py --keep` left in its database `bench_ingest` (the preload
and the timed register, one operator each, in the order that run wrote them: `--order
chronological`, as registers are exported, or `shuffled`), as COPY text into temporary files.
Then, for each set of indexes below, on a scratch table `bench_index_cost` of the same columns
(dropped at the end): COPY the first register (not timed), VACUUM ANALYZE, CHECKPOINT, and COPY
the second, timing the CPU the server process spent on it (read from /proc: the server must run
on this machine) and the wall time. The sets are cumulative up to today's table, then today's
table with one index swapped for an alternative. CPU time is the steady figure on a shared
machine; wall time moves with the load. Medians of --rounds.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TABLE = "outflows_crossbordertransfer"
SCRATCH = "bench_index_cost"
COLUMNS = (
    "operator_id, filing_id, external_id, occurred_at, direction, investor_ref, platform_id, asset, amount, value_byn"
)
PK = f"ALTER TABLE {SCRATCH} ADD PRIMARY KEY (id)"
UNIQUE = f"ALTER TABLE {SCRATCH} ADD UNIQUE (operator_id, external_id)"
BRIN_LOAD = (
    f"CREATE INDEX ON {SCRATCH} USING brin (filing_id, updated_at, operator_id, occurred_at)"
    " WITH (pages_per_range = 32, autosummarize = on)"
)
BLOOM = (
    f"CREATE INDEX ON {SCRATCH} USING brin (investor_ref text_bloom_ops(n_distinct_per_range = 2000,"
    " false_positive_rate = 0.001)) WITH (pages_per_range = 32, autosummarize = on)"
)
# Before migration 0014: one BRIN each for filing_id and updated_at (0004) and (operator_id, occurred_at) (0006).
BRIN_SPLIT = (
    f"CREATE INDEX ON {SCRATCH} USING brin (filing_id); CREATE INDEX ON {SCRATCH} USING brin (updated_at);"
    f" CREATE INDEX ON {SCRATCH} USING brin (operator_id, occurred_at) WITH (pages_per_range = 32, autosummarize = on)"
)
WITHOUT_LIST_BTREE = "; ".join((PK, UNIQUE, BRIN_LOAD, BLOOM))
LIST_BTREE = f"CREATE INDEX ON {SCRATCH} (occurred_at, id)"
HOUR = "date_trunc('hour', occurred_at AT TIME ZONE 'UTC')"
DAY = "date_trunc('day', occurred_at AT TIME ZONE 'UTC')"
# (label, the indexes of the scratch table): cumulative up to today's table, then alternatives.
SETS = [
    ("heap only (identity id, no index)", "SELECT 1"),
    ("+ primary key", PK),
    ("+ unique (operator_id, external_id)", f"{PK}; {UNIQUE}"),
    ("+ BRIN (filing_id, updated_at, operator_id, occurred_at) (0014)", f"{PK}; {UNIQUE}; {BRIN_LOAD}"),
    ("+ bloom BRIN investor_ref (0006)", WITHOUT_LIST_BTREE),
    ("+ btree (occurred_at, id) (0006): today's table", f"{WITHOUT_LIST_BTREE}; {LIST_BTREE}"),
    ("  instead of the one BRIN: the three before 0014", f"{PK}; {UNIQUE}; {BRIN_SPLIT}; {BLOOM}; {LIST_BTREE}"),
    ("  instead of the list btree: btree on the hour", f"{WITHOUT_LIST_BTREE}; CREATE INDEX ON {SCRATCH} ({HOUR})"),
    (
        "  instead of the list btree: btree on the day, no deduplication",
        f"{WITHOUT_LIST_BTREE}; CREATE INDEX ON {SCRATCH} ({DAY}) WITH (deduplicate_items = off)",
    ),
]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _copy_in(conn, path: Path) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {SCRATCH} ({COLUMNS}) FROM STDIN") as copy, open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import psycopg

    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal"))
    url = urlunsplit(base._replace(scheme="postgresql", path="/bench_ingest"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-index-cost-"))
    registers = []
    with psycopg.connect(url, autocommit=True) as conn:
        filings = [row[0] for row in conn.execute(f"SELECT DISTINCT filing_id FROM {TABLE} ORDER BY 1")]
        if len(filings) != 2:
            sys.exit("run bench/ingest.py --keep first: bench_ingest should hold two registers")
        for filing in filings:
            path = tmp / f"register-{filing}.txt"
            query = f"COPY (SELECT {COLUMNS} FROM {TABLE} WHERE filing_id = {filing} ORDER BY id) TO STDOUT"
            with conn.cursor() as cur, cur.copy(query) as copy, open(path, "wb") as out:
                for block in copy:
                    out.write(block)
            registers.append(path)
    rows = _lines(registers[1])
    print(f"{rows:,} rows COPYed into a table of {_lines(registers[0]):,}, {args.rounds} rounds")
    figures: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in SETS}
    for round_no in range(args.rounds):
        for label, ddl in SETS:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
                conn.execute(f"CREATE TABLE {SCRATCH} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY)")
                for statement in ddl.split("; "):
                    conn.execute(statement)
                _copy_in(conn, registers[0])
                conn.execute(f"VACUUM ANALYZE {SCRATCH}")
                conn.execute("CHECKPOINT")
                pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                cpu, started = _cpu_seconds(pid), time.perf_counter()
                _copy_in(conn, registers[1])
                figures[label].append((_cpu_seconds(pid) - cpu, time.perf_counter() - started))
                conn.execute(f"DROP TABLE {SCRATCH}")
        print(f"round {round_no + 1}: load average {os.getloadavg()[0]:.1f}", flush=True)
    for path in registers:
        path.unlink()
    print("\n| indexes | server CPU, s | wall, s | CPU per row, µs |\n| --- | ---: | ---: | ---: |")
    for label, runs in figures.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(f"| {label.strip()} | {cpu:.2f} | {wall:.2f} | {cpu / rows * 1e6:.2f} |")


if __name__ == "__main__":
    main()

"""Benchmark of the violation scan (not a test): see bench/README_scan.md.

Why one file of ~460 lines: it builds a national-scale data set (operators, filings,
client registers, transfers) in SQL and times the scan on it; the builder and the timing
share one database set-up and are read together.

    .venv/bin/python bench/scan.py --transfers 1000000
    .venv/bin/python bench/scan.py --transfers 10000000 --operators 500 --small-operators 100

Builds its own PostgreSQL database (`bench_scan`, next to DATABASE_URL's), migrates it,
loads operators, 12 months of filings, client registers, profiles, an outflow run and
N transfers (binary COPY into a staging table, then one INSERT ... SELECT), and times
full scans. It prints the number of SQL queries per scan at two operator counts.
"""

import argparse
import io
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal")
    return base.rsplit("/", 1)[0] + "/" + name


def _ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_database_url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(name: str) -> None:
    os.environ["DATABASE_URL"] = _database_url(name)
    os.environ.pop("REDIS_URL", None)  # the scan lock in a local cache is enough here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CONN_MAX_AGE", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


MONTHS = 12
YEAR = 2025
# "Now" for the scan: every 2025 filing is due, so all rules have work to do.
SCAN_NOW = "2026-02-20T09:00:00+00:00"


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE audits_flag, audits_flagnote, audits_operatorrisk, audits_scanrun, audits_remindersent,"
            " audits_auditevent, audits_auditchainhead, outflows_outflowstat, outflows_outflowrun,"
            " outflows_crossbordertransfer, operators_clientrecord, operators_operatorprofilerecord,"
            " operators_filingerror, operators_registrationfiling, operators_operatorstatuschange,"
            " operators_operatormembership, operators_foreignplatform, operators_operator RESTART IDENTITY CASCADE"
        )


def _load(*, operators: int, transfers: int, seed: int) -> dict:
    """Registry, filings, client registers, profiles, a finished outflow run and the transfers."""
    from datetime import UTC, date, datetime, timedelta
    from decimal import Decimal

    from django.db import connection, transaction

    from operators.models import (
        ClientRecord,
        ForeignPlatform,
        Operator,
        OperatorProfileRecord,
        RegistrationFiling,
    )
    from outflows.models import OutflowRun, OutflowStat

    rng = np.random.default_rng(seed)
    timings = {}
    started = time.monotonic()
    _reset()
    with transaction.atomic():
        ops = Operator.objects.bulk_create(
            Operator(
                unp=f"1{i:08d}",
                name=f"Оператор {i}",
                htp_certificate_no=f"HTP-{i}",
                # 2% with a certificate that expired on 30 September: flagged twice.
                htp_certificate_valid_until=date(2025, 9, 30) if i % 50 == 7 else date(2028, 1, 1),
                htp_registered_on=date(2024, 6, 1),
                activity="exchange",
                status="active",
            )
            for i in range(operators)
        )
        countries = ["AE", "SG", "US", "GB", "CY", "EE", "LT", "GE", "KZ", "HK"]
        plats = [
            ForeignPlatform(slug=f"p{i:02d}", name=f"P{i}", country=countries[i % 10], verified=True) for i in range(50)
        ]
        plats += [ForeignPlatform(slug=f"u{i}", name=f"U{i}", country="SC", verified=False) for i in range(5)]
        plats += [
            ForeignPlatform(slug=f"r{i}", name=f"R{i}", country=c, verified=True)
            for i, c in enumerate(["IR", "KP", "MM", "VN", "SY"])
        ]
        plats = ForeignPlatform.objects.bulk_create(plats)
        filings, accepted = [], {}
        for i, op in enumerate(ops):
            for m in range(MONTHS):
                start = date(YEAR, m + 1, 1)
                end = (date(YEAR + (m + 1) // 12, (m + 1) % 12 + 1, 1)) - timedelta(days=1)
                due = end + timedelta(days=15)
                roll = rng.random()
                if roll < 0.02:
                    continue  # missing
                submitted = datetime.combine(due, datetime.min.time(), tzinfo=UTC) - timedelta(days=2)
                if roll < 0.04:  # rejected, resubmitted 15 days later
                    filings.append(
                        RegistrationFiling(
                            operator=op,
                            kind="transfer_register",
                            period_start=start,
                            period_end=end,
                            due_date=due,
                            status="rejected",
                            file="x",
                            sha256="r",
                            submitted_at=submitted,
                        )
                    )
                    submitted += timedelta(days=15)
                elif roll < 0.09:  # late
                    submitted += timedelta(days=5)
                mismatch = rng.random() < 0.01
                f = RegistrationFiling(
                    operator=op,
                    kind="transfer_register",
                    period_start=start,
                    period_end=end,
                    due_date=due,
                    status="accepted",
                    file="x",
                    sha256="a",
                    submitted_at=submitted,
                    declared_rows=5 if mismatch else None,
                    rows_total=4 if mismatch else 0,
                )
                filings.append(f)
                accepted[(i, m)] = f
            for q in range(4):
                start = date(YEAR, 3 * q + 1, 1)
                end = date(YEAR + (q == 3), (3 * q + 3) % 12 + 1, 1) - timedelta(days=1)
                filings.append(
                    RegistrationFiling(
                        operator=op,
                        kind="client_register",
                        period_start=start,
                        period_end=end,
                        due_date=end + timedelta(days=30),
                        status="accepted",
                        file="x",
                        sha256="c",
                        submitted_at=datetime.combine(end + timedelta(days=20), datetime.min.time(), tzinfo=UTC),
                    )
                )
            filings.append(
                RegistrationFiling(
                    operator=op,
                    kind="operator_profile",
                    period_start=date(YEAR - 1, 1, 1),
                    period_end=date(YEAR - 1, 12, 31),
                    due_date=date(YEAR, 1, 31),
                    status="accepted",
                    file="x",
                    sha256="p",
                    submitted_at=datetime(YEAR, 1, 20, tzinfo=UTC),
                )
            )
        # auto_now_add overwrites submitted_at in bulk_create: keep the intended times and set them after.
        intended = [f.submitted_at for f in filings]
        RegistrationFiling.objects.bulk_create(filings, batch_size=5000)
        for f, ts in zip(filings, intended, strict=True):
            f.submitted_at = ts
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE bench_fsub (id bigint, ts timestamptz) ON COMMIT DROP")
            with cur.cursor.copy("COPY bench_fsub (id, ts) FROM STDIN") as copy:
                for f in filings:
                    copy.write_row((f.pk, f.submitted_at))
            cur.execute(
                "UPDATE operators_registrationfiling r SET submitted_at = s.ts, processed_at = s.ts"
                " FROM bench_fsub s WHERE s.id = r.id"
            )
        profiles = {f.operator_id: f for f in filings if f.kind == "operator_profile"}
        OperatorProfileRecord.objects.bulk_create(
            OperatorProfileRecord(
                operator=op,
                filing=profiles[op.pk],
                unp=op.unp,
                name=op.name + (" (old name)" if i % 50 == 3 else ""),
                htp_certificate_no=op.htp_certificate_no,
                htp_certificate_valid_until=op.htp_certificate_valid_until,
                activity=op.activity,
            )
            for i, op in enumerate(ops)
        )
        # Client registers: 400 investors per operator in the Q1 register; 1% registered only in June.
        q1 = {f.operator_id: f for f in filings if f.kind == "client_register" and f.period_start.month == 1}
        clients = []
        for i, op in enumerate(ops):
            late = set(rng.choice(400, 4, replace=False).tolist())
            clients += [
                ClientRecord(
                    operator=op,
                    filing=q1[op.pk],
                    investor_ref=f"inv{i * 1000 + k}",
                    residency_country="BY",
                    registered_at=date(YEAR, 6, 1) if k in late else date(YEAR, 1, 1),
                    kyc_level="standard",
                )
                for k in range(400)
            ]
        ClientRecord.objects.bulk_create(clients, batch_size=10000)
        run = OutflowRun.objects.create(
            as_of=datetime(2026, 2, 1, tzinfo=UTC), status="finished", finished_at=datetime(2026, 2, 1, 1, tzinfo=UTC)
        )
        shares = rng.uniform(0.2, 0.7, operators)
        OutflowStat.objects.bulk_create(
            OutflowStat(
                run=run,
                dimension="operator",
                key=op.unp,
                cohort="all",
                outbound_value_byn=Decimal(100000),
                returned_value_byn=Decimal(100000 * (1 - shares[i])).quantize(Decimal("0.01")),
                unreturned_value_byn=Decimal(100000 * shares[i]).quantize(Decimal("0.01")),
                non_return_share=Decimal(str(round(shares[i], 6))),
                pending_outbound_value_byn=0,
                pending_returned_value_byn=0,
                outbound_count=1000,
            )
            for i, op in enumerate(ops)
        )
    timings["registry_s"] = round(time.monotonic() - started, 1)

    started = time.monotonic()
    _copy_transfers(ops=ops, plats=plats, accepted=accepted, n=transfers, rng=rng)
    timings["transfers_load_s"] = round(time.monotonic() - started, 1)
    return timings


ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("l_op", ">i4"),
        ("op", ">i4"),
        ("l_month", ">i4"),
        ("month", ">i4"),
        ("l_secs", ">i4"),
        ("secs", ">i4"),
        ("l_dir", ">i4"),
        ("dir", ">i4"),
        ("l_inv", ">i4"),
        ("inv", ">i4"),
        ("l_plat", ">i4"),
        ("plat", ">i4"),
        ("l_cents", ">i4"),
        ("cents", ">i8"),
    ]
)


def _copy_transfers(*, ops, plats, accepted, n: int, rng) -> None:
    """Binary COPY of generated integer columns into a staging table, then one INSERT ... SELECT."""
    from django.db import connection, transaction

    chunk = 1_000_000
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_staging")
        cur.execute(
            "CREATE UNLOGGED TABLE bench_staging (rn bigserial, op int, month int, secs int, dir int,"
            " inv int, plat int, cents bigint)"
        )
        cur.execute("CREATE TEMP TABLE bench_ops (idx int PRIMARY KEY, id bigint) ON COMMIT DROP")
        cur.execute(
            "INSERT INTO bench_ops SELECT ordinality - 1, id FROM unnest(%s::bigint[]) WITH ORDINALITY id",
            [[op.pk for op in ops]],
        )
        cur.execute("CREATE TEMP TABLE bench_plat (idx int PRIMARY KEY, id bigint) ON COMMIT DROP")
        cur.execute(
            "INSERT INTO bench_plat SELECT ordinality - 1, id FROM unnest(%s::bigint[]) WITH ORDINALITY id",
            [[p.pk for p in plats]],
        )
        cur.execute(
            "CREATE TEMP TABLE bench_filing (op int, month int, id bigint, PRIMARY KEY (op, month)) ON COMMIT DROP"
        )
        with cur.cursor.copy("COPY bench_filing (op, month, id) FROM STDIN") as copy:
            for (i, m), f in accepted.items():
                copy.write_row((i, m, f.pk))
        with cur.cursor.copy(
            "COPY bench_staging (op, month, secs, dir, inv, plat, cents) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
            left = n
            while left > 0:
                size = min(chunk, left)
                rows = np.empty(size, dtype=ROW)
                rows["nfields"] = 7
                for name in ("l_op", "l_month", "l_secs", "l_dir", "l_inv", "l_plat"):
                    rows[name] = 4
                rows["l_cents"] = 8
                op = rng.integers(0, len(ops), size)
                rows["op"] = op
                rows["month"] = rng.integers(0, MONTHS, size)
                rows["secs"] = rng.integers(0, 28 * 86400, size)
                rows["dir"] = (rng.random(size) < 0.45).astype(np.int32)  # 55% OUT
                # 99.5% of transfers by one of the operator's 400 registered investors.
                k = np.where(rng.random(size) < 0.995, rng.integers(0, 400, size), rng.integers(400, 1000, size))
                rows["inv"] = op * 1000 + k
                roll = rng.random(size)
                rows["plat"] = np.where(
                    roll < 0.01,
                    50 + rng.integers(0, 5, size),
                    np.where(roll < 0.015, 55 + rng.integers(0, 5, size), rng.integers(0, 50, size)),
                )
                rows["cents"] = rng.integers(1000, 5_000_000, size)
                copy.write(rows.tobytes())
                left -= size
            copy.write(struct.pack(">h", -1))
        cur.execute(
            """
            INSERT INTO outflows_crossbordertransfer (operator_id, filing_id, external_id, occurred_at, direction,
                investor_ref, platform_id, asset, amount, value_byn, updated_at)
            SELECT o.id, f.id, 'T' || s.rn,
                   (make_date(2025, s.month + 1, 1)::timestamp + make_interval(secs => s.secs))
                       AT TIME ZONE 'Europe/Minsk',
                   CASE s.dir WHEN 0 THEN 'OUT' ELSE 'IN' END, 'inv' || s.inv, p.id, 'USDT',
                   s.cents / 100.0, s.cents / 100.0, now()
            FROM bench_staging s
            JOIN bench_ops o ON o.idx = s.op
            JOIN bench_filing f ON f.op = s.op AND f.month = s.month
            JOIN bench_plat p ON p.idx = s.plat
            """
        )
        cur.execute("DROP TABLE bench_staging")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE outflows_crossbordertransfer")
        cur.execute("ANALYZE")


def _scan_twice() -> list[dict]:
    from datetime import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audits.models import Flag
    from audits.services import scan_run

    now = datetime.fromisoformat(SCAN_NOW)
    results = []
    for label in ("first scan (opens every flag)", "second scan (nothing changes)"):
        with CaptureQueriesContext(connection) as ctx:
            started = time.monotonic()
            result = scan_run(now=now)
            elapsed = time.monotonic() - started
        results.append(
            {
                "scan": label,
                "seconds": round(elapsed, 2),
                "queries": len(ctx.captured_queries),
                "opened": result.opened,
                "kept": result.kept,
                "cleared": result.cleared,
                "rule_seconds": result.timings,
            }
        )
    by_rule = dict(
        Flag.objects.values_list("rule__code").annotate(__import__("django.db.models", fromlist=["Count"]).Count("id"))
    )
    results[-1]["flags_by_rule"] = by_rule
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--operators", type=int, default=500)
    parser.add_argument(
        "--small-operators",
        type=int,
        default=100,
        help="second, smaller registry for the query-count comparison (0 to skip)",
    )
    parser.add_argument("--database", default="bench_scan")
    parser.add_argument("--seed", type=int, default=20251)
    parser.add_argument(
        "--scan-only", action="store_true", help="keep the loaded data, drop the flags and time the scans again"
    )
    args = parser.parse_args()
    _ensure_database(args.database)
    _setup_django(args.database)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        print(cur.fetchone()[0])
    if args.scan_only:
        from operators.models import Operator
        from outflows.models import CrossBorderTransfer

        with connection.cursor() as cur:
            cur.execute("TRUNCATE audits_flag, audits_flagnote, audits_operatorrisk, audits_scanrun CASCADE")
        print(f"{Operator.objects.count()} operators, {CrossBorderTransfer.objects.count():,} transfers on record")
        for r in _scan_twice():
            print(
                f"{r['scan']}: {r['seconds']} s, {r['queries']} SQL queries, opened {r['opened']}, "
                f"kept {r['kept']}, cleared {r['cleared']}\n   per rule (s): {r['rule_seconds']}"
            )
        return
    sizes = [(args.small_operators, max(args.transfers // 10, 10_000))] if args.small_operators else []
    sizes.append((args.operators, args.transfers))
    report = []
    for operators, transfers in sizes:
        print(f"\n== {operators} operators, {transfers:,} transfers requested")
        timings = _load(operators=operators, transfers=transfers, seed=args.seed)
        from outflows.models import CrossBorderTransfer

        loaded = CrossBorderTransfer.objects.count()
        print(f"loaded {loaded:,} transfers (months without an accepted filing have none); {timings}")
        for r in _scan_twice():
            print(
                f"{r['scan']}: {r['seconds']} s, {r['queries']} SQL queries, "
                f"opened {r['opened']}, kept {r['kept']}, cleared {r['cleared']}"
            )
            print(f"   per rule (s): {r['rule_seconds']}")
            if "flags_by_rule" in r:
                print(f"   flags by rule: {r['flags_by_rule']}")
            report.append((operators, loaded, r))
    print("\nqueries per scan:")
    for operators, loaded, r in report:
        print(
            f"  {operators:>5} operators {loaded:>11,} transfers  {r['scan']:<32} {r['queries']:>4} queries"
            f"  {r['seconds']:>7} s"
        )


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    main()

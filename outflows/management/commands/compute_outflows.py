"""manage.py compute_outflows: one run of DESIGN section 5, synchronously (DESIGN section 10)."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from outflows.models import Dimension, OutflowStat
from outflows.rederive import RunNotRederivable, outflow_rederive
from outflows.runs import _kopecks_to_byn
from outflows.selectors import outflow_stat_as_dict
from outflows.services import OutflowRunBusy, outflow_run_compute

# The dimensions DESIGN section 10's `--json` names (key: all, UNP, platform slug, country code); the
# cross-tabs of issue 17 (operator x platform, asset, residency, KYC) are on the pages and the API.
JSON_DIMENSIONS = (Dimension.OVERALL, Dimension.OPERATOR, Dimension.PLATFORM, Dimension.COUNTRY)


class Command(BaseCommand):
    help = "Compute the non-return share (one OutflowRun) now and print it."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="ISO 8601 instant with offset (default: now)")
        parser.add_argument("--window-days", type=int, default=365)
        parser.add_argument("--partitions", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="print the run as JSON (DESIGN section 10)")
        parser.add_argument(
            "--as-known-at",
            type=int,
            metavar="RUN",
            help="re-derive finished run RUN from exactly the filings it read (kept after resubmissions), "
            "compare every figure and the fingerprint with what it stored, store nothing; exit 1 if any differs",
        )

    def handle(self, *args, **options):
        if options["as_known_at"] is not None:
            self._rederive(options["as_known_at"], as_json=options["json"])
            return
        as_of = timezone.now()
        if options["as_of"]:
            try:
                as_of = dt.datetime.fromisoformat(options["as_of"].replace("Z", "+00:00"))
            except ValueError as exc:
                raise CommandError(f"--as-of: not an ISO 8601 instant: {options['as_of']}") from exc
            if timezone.is_naive(as_of):
                raise CommandError("--as-of needs an offset, e.g. 2025-12-31T23:59:59+03:00")
        if options["window_days"] < 1 or options["partitions"] < 1:
            raise CommandError("--window-days and --partitions must be at least 1")
        try:
            run = outflow_run_compute(as_of=as_of, window_days=options["window_days"], partitions=options["partitions"])
        except OutflowRunBusy as exc:
            raise CommandError("another outflow run is computing; try again when it has finished") from exc
        stats = run.stats.order_by("dimension", "key", "cohort")
        if options["json"]:
            payload = {
                "run": run.pk,
                "excess_return_byn": str(run.excess_return_byn),
                "rows": [outflow_stat_as_dict(stat) for stat in stats.filter(dimension__in=JSON_DIMENSIONS)],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        overall = stats.filter(dimension="overall", key="all", cohort="all").first()
        self.stdout.write(f"run {run.pk}: as of {run.as_of.isoformat()}, W={run.window_days} days, "
                          f"{run.input_rows} transfers, {run.timings.get('total_s')} s")  # fmt: skip
        if overall is None:
            self.stdout.write("no outbound transfers")
            return
        share = "n/a (nothing matured)" if overall.non_return_share is None else f"{overall.non_return_share:.4f}"
        self.stdout.write(
            f"non-return share {share}: {overall.unreturned_value_byn} of {overall.outbound_value_byn} BYN "
            f"matured outbound not returned; pending {overall.pending_outbound_value_byn} BYN; "
            f"excess return {run.excess_return_byn} BYN"
        )
        interval = (run.uncertainty or {}).get("overall") or {}
        if interval.get("low") is not None:
            self.stdout.write(
                f"{run.uncertainty['level']:.0%} bootstrap interval {interval['low']} - {interval['high']} "
                f"({run.uncertainty['resamples']} resamples of {interval['investors']} investors)"
            )
        coverage = run.coverage or {}
        if coverage.get("complete_share") is not None:
            self.stdout.write(
                f"register coverage: {coverage['complete_share']} of matured outbound value from fully filed months; "
                f"operators with gaps: {', '.join(coverage['gaps']) or 'none'}"
            )

    def _rederive(self, run_id: int, *, as_json: bool) -> None:
        try:
            found = outflow_rederive(run=run_id)
        except RunNotRederivable as exc:
            raise CommandError(str(exc)) from exc
        computation = found.computation
        if as_json:
            payload = {
                "run": found.run.pk,
                "as_known_at": True,
                "reproduced": found.reproduced,
                "input_rows": computation.input_rows,
                "input_fingerprint": computation.fingerprint,
                "excess_return_byn": str(_kopecks_to_byn(computation.excess_return)),
                "filings": found.inputs.filings,
                "differences": len(found.differences),
                "rows": [
                    outflow_stat_as_dict(OutflowStat(**row))
                    for row in found.rows
                    if row["dimension"] in JSON_DIMENSIONS
                ],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
        else:
            run = found.run
            self.stdout.write(
                f"run {run.pk} re-derived: as of {run.as_of.isoformat()}, W={run.window_days} days, "
                f"{len(found.inputs.filings)} filings, {computation.input_rows} transfers "
                f"(stored {run.input_rows}), fingerprint {computation.fingerprint} "
                f"({'same' if found.fingerprint_same else 'stored ' + run.input_fingerprint}), "
                f"{len(found.rows)} stat rows, {len(found.differences)} differ, "
                f"excess return {_kopecks_to_byn(computation.excess_return)} BYN (stored {run.excess_return_byn})"
            )
            for difference in found.differences[:20]:
                self.stdout.write(f"  differs: {'/'.join(difference['cell'])}")
            if found.filings_changed:
                self.stdout.write(f"  files changed since: {found.filings_changed}")
        if not found.reproduced:
            raise CommandError(f"run {run_id} is not reproduced by its recorded inputs")

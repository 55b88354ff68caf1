"""manage.py compute_outflows: one run of DESIGN section 5, synchronously (DESIGN section 10)."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from outflows.selectors import outflow_stat_as_dict
from outflows.services import OutflowRunBusy, outflow_run_compute


class Command(BaseCommand):
    help = "Compute the non-return share (one OutflowRun) now and print it."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="ISO 8601 instant with offset (default: now)")
        parser.add_argument("--window-days", type=int, default=365)
        parser.add_argument("--partitions", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="print the run as JSON (DESIGN section 10)")

    def handle(self, *args, **options):
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
                "rows": [outflow_stat_as_dict(stat) for stat in stats],
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

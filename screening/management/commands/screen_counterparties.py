"""manage.py screen_counterparties [--json]: screen platforms, operators, officers, wallets now (DESIGN section 10)."""

import json

from django.core.management.base import BaseCommand

from screening.services import screen_run

CONTRACT_KIND = {"operator": "officer"}
FIELDS = ("subject", "score", "entry", "list")


class Command(BaseCommand):
    help = "Screen counterparties against the lists in force now; --json prints the hits."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **options):
        result = screen_run()
        # DESIGN section 10 names three kinds: an operator's legal name is reported as the operator's
        # side ("officer", subject = its UNP), like its AML officer; the review page tells them apart.
        hits = [{"kind": CONTRACT_KIND.get(h["kind"], h["kind"]), **{k: h[k] for k in FIELDS}} for h in result["hits"]]
        if options["json"]:
            self.stdout.write(json.dumps({"hits": hits}, ensure_ascii=False))
            return
        self.stdout.write(
            f"{len(hits)} hits: opened {result['opened']}, reopened {result['reopened']}, kept {result['kept']}"
        )
        for h in result["hits"]:
            line = f"  {h['kind']} {h['subject']} ~ {h['list']}:{h['entry']} {h['score']:.2f} [{h['status']}]"
            self.stdout.write(line)

"""manage.py screen_counterparties [--json]: screen platforms, operators, officers, wallets now (DESIGN section 10)."""

import json

from django.core.management.base import BaseCommand

from screening.services import screen_run


class Command(BaseCommand):
    help = "Screen counterparties against the lists in force now; --json prints the hits."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **options):
        result = screen_run()
        hits = [{k: h[k] for k in ("kind", "subject", "score", "entry", "list")} for h in result["hits"]]
        if options["json"]:
            self.stdout.write(json.dumps({"hits": hits}, ensure_ascii=False))
            return
        self.stdout.write(
            f"{len(hits)} hits: opened {result['opened']}, reopened {result['reopened']}, kept {result['kept']}"
        )
        for h in result["hits"]:
            line = f"  {h['kind']} {h['subject']} ~ {h['list']}:{h['entry']} {h['score']:.2f} [{h['status']}]"
            self.stdout.write(line)

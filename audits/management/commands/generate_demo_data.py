"""manage.py generate_demo_data: every layer's demo data, then the outflow run and the scan (so it lives
in the top app that may import them all)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from audits.demo_referral import demo_referral, demo_steps
from audits.services import scan_run
from filings.demo import generate_demo_filings
from operators.demo import generate_demo_users, generate_registry
from operators.models import Operator
from outflows.services import outflow_run_compute
from screening.demo import demo_screening


class Command(BaseCommand):
    help = (
        "Make a realistic synthetic registry, filings (some late, missing or rejected) and transfers, "
        "compute the non-return share, run the violation scan, and (re)set the demo accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--transfers", type=int, default=20000, help="approximate number of transfers")
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument("--operators", type=int, default=40)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the registry has operators")

    def handle(self, *args, transfers: int, seed: int, operators: int, if_empty: bool, **options):
        if if_empty and Operator.objects.exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        with transaction.atomic():
            registry = generate_registry(seed=seed, operators=operators)
            passwords = generate_demo_users(operator=registry[0])
        self.stdout.write(f"Registry: {len(registry)} operators.")
        if transfers > 0:
            generate_demo_filings(seed=seed, transfers=transfers, stdout=self.stdout)
        run = outflow_run_compute()
        overall = run.stats.filter(dimension="overall", key="all", cohort="all").first()
        share = overall.non_return_share if overall else None
        self.stdout.write(f"Outflow run #{run.pk}: {run.input_rows} transfers, non-return share {share}.")
        self.stdout.write(demo_screening())
        scan = scan_run()
        self.stdout.write(f"Violation scan: {scan.opened} flags opened.")
        referred = demo_referral()
        if referred is not None:
            self.stdout.write(f"Flag #{referred.pk} referred to {referred.referred_to}, with its referral package.")
        for step in demo_steps:
            line = step()
            if line:
                self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo accounts (new passwords):"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<11} {password}")

from django.core.management.base import BaseCommand
from django.db import transaction

from operators.demo import generate_demo_users, generate_registry
from operators.models import Operator


class Command(BaseCommand):
    help = "Make a realistic synthetic registry, filings and transfers, and the demo accounts."

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
        self.stdout.write(self.style.SUCCESS("Demo accounts (new passwords):"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<11} {password}")

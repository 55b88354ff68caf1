"""manage.py create_agency_token NAME --scopes a,b: issue an agency token; prints the key once."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from api.models import Scope
from api.services import DEFAULT_LIFETIME, api_token_create


class Command(BaseCommand):
    help = "Issue a read-only agency API token and print its key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who the token is for, e.g. 'National Bank, statistics'")
        parser.add_argument("--scopes", required=True, help=f"comma-separated: {','.join(Scope.values)}")
        parser.add_argument(
            "--days", type=int, default=DEFAULT_LIFETIME.days, help="valid for this many days (0: never expires)"
        )
        parser.add_argument("--agency", default="", help="the agency (referrals scope: the packages referred to it)")

    def handle(self, *args, name, scopes, days, agency="", **options):
        if days < 0:
            raise CommandError("--days must be 0 or more")
        try:
            issued = api_token_create(
                name=name, scopes=scopes, lifetime=None if days == 0 else timedelta(days=days), agency=agency
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        token = issued.token
        self.stderr.write(
            f"Token #{token.pk} '{token.name}' scopes={','.join(token.scopes)} "
            f"expires={token.expires_at.isoformat() if token.expires_at else 'never'}. "
            "Keep the key: it is shown only now."
        )
        self.stdout.write(issued.key)

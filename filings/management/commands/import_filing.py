"""manage.py import_filing: the intake path of an upload, from the command line (DESIGN section 10)."""

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from filings.services import filing_submit
from operators.models import FilingKind, FilingStatus, Operator


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from exc


def _money(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation as exc:
        raise CommandError(f"not a number: {value}") from exc


class Command(BaseCommand):
    help = "Submit a registration filing from a file; exit 0 accepted (or valid with --dry-run), 1 rejected."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--operator", required=True, help="operator UNP")
        parser.add_argument("--kind", required=True, choices=FilingKind.values)
        parser.add_argument("--period-start", required=True)
        parser.add_argument("--period-end", required=True)
        parser.add_argument("--declared-rows", type=int)
        parser.add_argument("--declared-out-byn")
        parser.add_argument("--declared-in-byn")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        try:
            operator = Operator.objects.get(unp=opts["operator"])
        except Operator.DoesNotExist as exc:
            raise CommandError(f"no operator with UNP {opts['operator']}") from exc
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with open(path, "rb") as fh:
            result = filing_submit(
                operator=operator,
                kind=opts["kind"],
                period_start=_date(opts["period_start"]),
                period_end=_date(opts["period_end"]),
                uploaded_file=File(fh, name=path.name),
                user=None,
                declared_rows=opts["declared_rows"],
                declared_out_byn=_money(opts["declared_out_byn"]),
                declared_in_byn=_money(opts["declared_in_byn"]),
                dry_run=opts["dry_run"],
                # Same service as an upload, processed here and now rather than by a worker.
                process_now=True,
            )
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        else:
            what = f"filing {result.filing.pk}" if result.filing else "dry run"
            self.stdout.write(f"{what}: {result.status}, {result.rows} rows, {len(result.errors)} errors")
            for e in result.errors[:50]:
                self.stdout.write(f"  row {e.row} {e.column} [{e.code}] {e.value!r}: {e.message_en}")
            for w in result.warnings:
                self.stdout.write(f"  warning {w['field']}: declared {w['declared']}, rows give {w['actual']}")
        if result.status not in (FilingStatus.ACCEPTED, "valid"):
            raise SystemExit(1)

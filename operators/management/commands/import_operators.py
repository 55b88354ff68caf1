from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from operators.registry import registry_import


class Command(BaseCommand):
    help = "Create or update operator registry entries from a registry file (CSV UTF-8 or XLSX). All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        file_format = "xlsx" if file.suffix.lower() == ".xlsx" else "csv"
        result = registry_import(content=file.read_bytes(), file_format=file_format)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"row {error.row} [{error.column}] {error.value!r}: {error.message} ({error.code})")
            raise CommandError(f"{len(result.errors)} error(s); nothing imported")
        self.stdout.write(f"created {result.created}, updated {result.updated}")

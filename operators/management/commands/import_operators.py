from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from operators.registry import registry_import
from operators.registry_file import registry_max_upload_bytes


class Command(BaseCommand):
    help = (
        "Create or update operator registry entries from a registry file (CSV in UTF-8 or Windows-1251, "
        "separated by , ; or tab, or XLSX; read with the intake's caps). All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        if file.stat().st_size > registry_max_upload_bytes():
            raise CommandError(f"file larger than REGISTRY_MAX_UPLOAD_BYTES ({registry_max_upload_bytes()} bytes)")
        result = registry_import(content=file.read_bytes())
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"row {error.row} [{error.column}] {error.value!r}: {error.message} ({error.code})")
            raise CommandError(f"{len(result.errors)} error(s); nothing imported")
        self.stdout.write(f"created {result.created}, updated {result.updated}")

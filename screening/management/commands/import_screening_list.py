"""manage.py import_screening_list --format ftm|ofac|eu|csv [--name NAME] [--source TEXT] FILE (DESIGN section 10)."""

from django.core.management.base import BaseCommand, CommandError

from screening.formats import READERS, ListFileError
from screening.imports import list_import_file


class Command(BaseCommand):
    help = "Import a sanctions or watch list file as a new version of its list (SHA-256, source, date)."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=sorted(READERS))
        parser.add_argument("--name", default="", help="the list's name (default: the format's usual name)")
        parser.add_argument("--source", default="", help="where the file came from (default: its name)")
        parser.add_argument("file")

    def handle(self, *args, **options):
        try:
            result = list_import_file(
                path=options["file"], format=options["format"], list_name=options["name"], source=options["source"]
            )
        except (ListFileError, OSError) as exc:
            raise CommandError(f"{options['file']}: {exc}; nothing imported") from exc
        version = result.list_import
        state = "imported" if result.created else "already imported"
        self.stdout.write(
            f"{version.list_name}: {state} as version #{version.pk}, {version.entry_count} entries,"
            f" sha256 {version.sha256}"
        )

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from auditlog.backup import backup_create, backup_verify


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and the stored files with SHA-256 checksums, or --verify a backup."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--verify", action="store_true", help="check a backup against its manifest")

    def handle(self, *args, directory: Path, verify: bool, **options):
        if verify:
            problems = backup_verify(source=directory)
            for problem in problems:
                self.stderr.write(problem)
            if problems:
                raise CommandError(f"{len(problems)} problem(s) in {directory}")
            self.stdout.write("backup intact")
            return
        manifest = backup_create(target=directory)
        self.stdout.write(f"backup written to {directory}: {len(manifest['files'])} files")
        checkpoint = manifest["audit_checkpoint"]
        if "refused" in checkpoint:
            self.stderr.write(f"audit log NOT checkpointed: {checkpoint['refused']}")
        else:
            self.stdout.write(
                f"audit log checkpointed: event #{checkpoint['last_event_id']}, {checkpoint['count']} events"
            )

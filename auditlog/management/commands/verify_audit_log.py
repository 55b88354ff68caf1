"""manage.py verify_audit_log: exit 0 when the audit log's hash chain is intact and agrees with every
signed checkpoint (auditlog/checkpoints.py), else 1 naming the first break and each checkpoint problem."""

from django.core.management.base import BaseCommand, CommandError

from auditlog.checkpoints import audit_log_check, checkpoint_dir


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain (edited, inserted and deleted events) and check it against the "
        "signed checkpoints in AUDIT_CHECKPOINT_DIR (a deleted tail, a deleted log, a re-sealed chain)."
    )

    def handle(self, *args, **options):
        check = audit_log_check()
        problems = list(check.problems)
        if check.chain_break is not None:
            broken = check.chain_break
            problems.insert(0, f"audit log broken at event #{broken.event_id}: {broken.reason}")
        if problems:
            for problem in problems[1:]:
                self.stderr.write(problem)
            raise CommandError(
                problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""), returncode=1
            )
        if check.latest is None:
            self.stderr.write(
                f"warning: no signed checkpoint in {checkpoint_dir()}: only the chain itself was checked"
                " (beat writes one every 10 minutes, `manage.py backup` one with each backup)"
            )
            self.stdout.write(f"audit log intact: {check.events} events")
            return
        self.stdout.write(
            f"audit log intact: {check.events} events, agrees with {check.checkpoints} checkpoints "
            f"(latest {check.latest.at}: event #{check.latest.last_event_id}, {check.latest.count} events)"
        )

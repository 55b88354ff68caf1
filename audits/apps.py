from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = _("Проверки")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from audits import filing_hooks, flag_rows
        from audits.services.versions import versions_seed_migrated

        # The operator staff's desk on the filings page (filings.hooks: the intake does not import audits).
        filing_hooks.register()
        # ?flag=<id> on the transfers page (outflows.hooks): the rows of a flag's figure, from its rule.
        flag_rows.register()
        # Version 1 of a rule seeded by a migration after 0013 (issue 19 item 3); the scan seeds lazily too.
        post_migrate.connect(versions_seed_migrated, sender=self, dispatch_uid="audits.versions_seed_migrated")

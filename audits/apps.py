from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = _("Проверки")

    def ready(self) -> None:
        from audits import filing_hooks, flag_rows

        # The operator staff's desk on the filings page (filings.hooks: the intake does not import audits).
        filing_hooks.register()
        # ?flag=<id> on the transfers page (outflows.hooks): the rows of a flag's figure, from its rule.
        flag_rows.register()

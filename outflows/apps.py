from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutflowsConfig(AppConfig):
    name = "outflows"
    verbose_name = _("Вывод средств")

    def ready(self) -> None:
        from outflows import filing_hooks

        # The transfer register's rows and the recompute after it (filings.hooks: the intake does not import outflows).
        filing_hooks.register()

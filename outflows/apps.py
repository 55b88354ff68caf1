from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutflowsConfig(AppConfig):
    name = "outflows"
    verbose_name = _("Вывод средств / Outflows")

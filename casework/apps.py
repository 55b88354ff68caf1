from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("Работа с делами")

    def ready(self) -> None:
        from casework import receivers  # noqa: F401 - a referral that takes effect builds its package

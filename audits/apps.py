from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = _("Проверки / Audits")

    def ready(self):
        from audits import receivers  # noqa: F401 - connects the failed-login and lockout receivers

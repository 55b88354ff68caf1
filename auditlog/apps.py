from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditlogConfig(AppConfig):
    name = "auditlog"
    verbose_name = _("Журнал аудита")

    def ready(self):
        from auditlog import receivers  # noqa: F401 - connects the failed-login and lockout receivers

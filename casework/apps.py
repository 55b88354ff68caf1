from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("Работа с делами")

    def ready(self) -> None:
        from audits.demo_referral import demo_step_register
        from casework import inbox, receivers  # noqa: F401 - receivers: a referral builds its package
        from casework.demo import demo_data_request

        # Answers and overdue requests on the notifications page; data requests a correction may cite.
        inbox.register()
        demo_step_register(demo_data_request)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FilingsConfig(AppConfig):
    """The filing intake (layer 3): upload, validation, import, its pages, tasks and admin.

    Its models (RegistrationFiling, FilingError, ClientRecord, OperatorProfileRecord,
    FilingCalendar, WorkLease) stay in operators.models, a layer below, with their tables.
    """

    name = "filings"
    verbose_name = _("Отчёты операторов")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = _("Операторы / Operators")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from config.db import use_c_timestamptz_loader

        # Every PostgreSQL connection of the portal loads timestamptz with psycopg's C loader
        # (config/db.py: Django registers the pure-Python one). Here, in the first of the
        # portal's own apps, because it concerns every app's queries, not one.
        connection_created.connect(use_c_timestamptz_loader, dispatch_uid="config.db.use_c_timestamptz_loader")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = _("Операторы")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from config.db import use_c_timestamptz_loader
        from operators.roles import groups_sync

        # Every PostgreSQL connection of the portal loads timestamptz with psycopg's C loader
        # (config/db.py: Django registers the pure-Python one). Here, in the first of the
        # portal's own apps, because it concerns every app's queries, not one.
        connection_created.connect(use_c_timestamptz_loader, dispatch_uid="config.db.use_c_timestamptz_loader")
        # The SCC groups' permissions, as operators.roles defines them, after every migrate (and flush):
        # a migrated database and the tests' database give the roles the same rights.
        post_migrate.connect(groups_sync, sender=self, dispatch_uid="operators.roles.groups_sync")

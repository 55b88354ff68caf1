"""The issue's reference set-up, to calibrate this machine: a bare Django + DRF app.

Served by bench/api.py (`bench.bare_drf:application_factory()`, gunicorn with 2 sync
workers) and measured in the same run as the API. No portal code at all: one unmanaged
model over the transfer table, a plain ModelSerializer, DRF's CursorPagination and
JSONRenderer, no middleware, no authentication, persistent connections with health
checks. The issue measured 430-590 requests/s for a page of 100 on its machine; the
ratio of this machine's figure to that says how far the issue's absolute targets
(400 and 600 requests/s) carry over.
"""

import os

# --- When gunicorn imports this module (bench.bare_drf:application_factory()) ------------------

urlpatterns: list = []


def _configure() -> None:
    import environ
    from django.conf import settings

    database = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-not-a-secret-" + "x" * 40,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "rest_framework"],
        MIDDLEWARE=[],
        DATABASES={"default": {**database, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}},
        USE_TZ=True,
        TIME_ZONE="Europe/Minsk",
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
            "UNAUTHENTICATED_USER": None,
        },
    )


def application_factory():
    import django

    _configure()
    django.setup(set_prefix=False)
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import models
    from django.urls import path
    from rest_framework import generics, pagination, serializers

    class Transfer(models.Model):
        operator_id = models.BigIntegerField()
        filing_id = models.BigIntegerField()
        external_id = models.CharField(max_length=64)
        occurred_at = models.DateTimeField()
        direction = models.CharField(max_length=3)
        investor_ref = models.CharField(max_length=128)
        platform_id = models.BigIntegerField()
        asset = models.CharField(max_length=16)
        amount = models.DecimalField(max_digits=38, decimal_places=18)
        value_byn = models.DecimalField(max_digits=18, decimal_places=2)
        updated_at = models.DateTimeField()

        class Meta:
            app_label = "contenttypes"  # any installed app: the model is only read
            managed = False
            db_table = "outflows_crossbordertransfer"

        def __str__(self) -> str:
            return self.external_id

    class TransferSerializer(serializers.ModelSerializer):
        class Meta:
            model = Transfer
            fields = "__all__"

    class Pages(pagination.CursorPagination):
        ordering = "id"
        page_size = 100
        page_size_query_param = "page_size"
        max_page_size = 1000

    class TransferList(generics.ListAPIView):
        queryset = Transfer.objects.all()
        serializer_class = TransferSerializer
        pagination_class = Pages

    globals()["urlpatterns"] = [path("transfers/", TransferList.as_view())]
    return WSGIHandler()

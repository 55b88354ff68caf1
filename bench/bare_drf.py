"""The issue's reference measurement, to calibrate this machine: a bare Django + DRF app.

    .venv/bin/python bench/bare_drf.py                # needs bench/api.py's database (bench_api)
    .venv/bin/python bench/bare_drf.py --duration 10

No portal code at all: one unmanaged model over the transfer table, a plain
ModelSerializer, DRF's CursorPagination and JSONRenderer, no middleware, no
authentication; gunicorn with 2 sync workers, persistent connections with health
checks; wrk (2 threads, 16 connections) on a page of 100, first and deep (id at
90 %). The issue measured 430-590 requests/s for such a page on its machine; the
ratio of this machine's figure to that says how far the issue's absolute targets
(400 and 600 requests/s) carry over.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


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


# --- The driver ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=30, help="seconds per target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database", default="bench_api")
    args = parser.parse_args()
    from bench.api import BARE_PORT, _database_url, _gunicorn, _wait_up, wrk

    env = {**os.environ, "DATABASE_URL": _database_url(args.database)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    gunicorn = _gunicorn("bench.bare_drf:application_factory()", BARE_PORT, env)
    import psycopg

    with psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)) as conn:
        count = conn.execute("SELECT count(*) FROM outflows_crossbordertransfer").fetchone()[0]
        deep = conn.execute(
            "SELECT id FROM outflows_crossbordertransfer ORDER BY id OFFSET %s LIMIT 1", [int(count * 0.9)]
        ).fetchone()[0]
    import base64
    import urllib.parse

    cursor = urllib.parse.quote(base64.b64encode(f"p={deep}".encode()).decode())
    base = f"http://127.0.0.1:{BARE_PORT}/transfers/?page_size=100"
    try:
        _wait_up(base, {})
        print(f"bare Django + DRF, {count:,} transfers, gunicorn 2 sync workers, wrk 16 connections", flush=True)
        for name, url in (("page of 100, first", base), ("page of 100, deep", f"{base}&cursor={cursor}")):
            wrk(url, duration=2, connections=args.connections, headers={})  # warm-up
            r = wrk(url, duration=args.duration, connections=args.connections, headers={})
            print(
                f"{name:20s} {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
                f"  non-2xx {r['non2xx']} {r['socket_errors']}",
                flush=True,
            )
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)


if __name__ == "__main__":
    main()

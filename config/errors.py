"""The 500 handler: a database outage (PostgreSQL down or restarting) is a 503 with Retry-After.

Django calls this for any uncaught exception, wherever it was raised (a view, or the
session middleware saving the session), so one place covers pages and the API. With
CONN_HEALTH_CHECKS the first request after the database is back gets a fresh connection.
"""

import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse

UNAVAILABLE_HTML = (
    "<!doctype html><html lang=ru><meta charset=utf-8><title>503</title>"
    "<h1>Сервис временно недоступен / Service temporarily unavailable</h1>"
    "<p>Повторите через несколько секунд. / Please retry in a few seconds.</p></html>"
)
ERROR_HTML = (
    "<!doctype html><html lang=ru><meta charset=utf-8><title>500</title>"
    "<h1>Внутренняя ошибка / Internal error</h1></html>"
)


def server_error(request):
    exception = sys.exc_info()[1]
    api = request.path.startswith("/api/")
    if isinstance(exception, OperationalError | InterfaceError):
        for connection in connections.all(initialized_only=True):
            connection.close_if_unusable_or_obsolete()
        if api:
            response = JsonResponse(
                {"status": 503, "code": "service_unavailable", "detail": "The database is unavailable; retry shortly."},
                status=503,
            )
        else:
            response = HttpResponse(UNAVAILABLE_HTML, status=503)
        response["Retry-After"] = "5"
        return response
    if api:
        return JsonResponse({"status": 500, "code": "server_error", "detail": "Internal error."}, status=500)
    return HttpResponse(ERROR_HTML, status=500)

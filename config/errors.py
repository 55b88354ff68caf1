"""The 500 and 400 handlers: a database outage (PostgreSQL down or restarting) is a 503 with Retry-After.

Django calls server_error for any uncaught exception, wherever it was raised (a view, or
a middleware), so one place covers pages and the API. With CONN_HEALTH_CHECKS the first
request after the database is back gets a fresh connection.
"""

import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.views import defaults

UNAVAILABLE_HTML = (
    "<!doctype html><html lang=ru><meta charset=utf-8><title>503</title>"
    "<h1>Сервис временно недоступен / Service temporarily unavailable</h1>"
    "<p>Повторите через несколько секунд. / Please retry in a few seconds.</p></html>"
)
ERROR_HTML = (
    "<!doctype html><html lang=ru><meta charset=utf-8><title>500</title>"
    "<h1>Внутренняя ошибка / Internal error</h1></html>"
)


def _unavailable(request) -> HttpResponse:
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"status": 503, "code": "service_unavailable", "detail": "The database is unavailable; retry shortly."},
            status=503,
        )
    else:
        response = HttpResponse(UNAVAILABLE_HTML, status=503)
    response["Retry-After"] = "5"
    return response


def server_error(request):
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return _unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"status": 500, "code": "server_error", "detail": "Internal error."}, status=500)
    return HttpResponse(ERROR_HTML, status=500)


def bad_request(request, exception):
    """A 400 caused by a database error is an outage too.

    The session middleware turns a failure to save the session (the database went down
    during the request; every page saves it: SESSION_SAVE_EVERY_REQUEST) into
    SessionInterrupted, a 400 "Bad Request". The database error is in its context chain.
    """
    cause = exception
    while cause is not None:
        if isinstance(cause, OperationalError | InterfaceError):
            return _unavailable(request)
        cause = cause.__cause__ or cause.__context__
    return defaults.bad_request(request, exception)

"""The 500 and 400 handlers: an outage of PostgreSQL or Redis (down or restarting) is a 503 with Retry-After.

Django calls server_error for any uncaught exception, wherever it was raised (a view, or
a middleware), so one place covers pages and the API. With CONN_HEALTH_CHECKS the first
request after the database is back gets a fresh connection; Redis clients reconnect by
themselves. Redis serves the API's throttle counters (the cache) and the task queue.
"""

import sys

import psycopg
import redis.exceptions
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import get_language, gettext
from django_redis.exceptions import ConnectionInterrupted
from kombu.exceptions import OperationalError as BrokerError


def _bare(status: int, title: str, text: str = "") -> str:
    """The last-resort page when the layout itself cannot be rendered: one language, the request's."""
    paragraph = f"<p>{text}</p>" if text else ""
    return (
        f"<!doctype html><html lang={get_language() or 'ru'}><meta charset=utf-8><title>{status}</title>"
        f"<h1>{title}</h1>{paragraph}</html>"
    )


def _unavailable_html() -> str:
    return _bare(503, gettext("Сервис временно недоступен"), gettext("Повторите через несколько секунд."))


def _error_html() -> str:
    return _bare(500, gettext("Внутренняя ошибка"))


def _bad_request_html() -> str:
    return _bare(400, gettext("Неверный запрос"))


# Redis unreachable: as the cache (django-redis wraps its errors, or a script's raw ones)
# or as the broker (kombu, when a task is sent).
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, ConnectionInterrupted, BrokerError)
# Django wraps the driver's errors of a query, but not all of them: closing a server-side cursor (an
# iterator's, in a `finally`) raises psycopg's own (AdminShutdown while PostgreSQL shuts down).
DATABASE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def _outage(exception: BaseException | None) -> str | None:
    """'database' or 'redis' if the exception, or one in its chain, is an outage of that service."""
    seen = set()
    while exception is not None and id(exception) not in seen:
        seen.add(id(exception))
        if isinstance(exception, DATABASE_ERRORS):
            return "database"
        if isinstance(exception, REDIS_ERRORS):
            return "redis"
        exception = exception.__cause__ or exception.__context__
    return None


def _unavailable(request, service: str = "database") -> HttpResponse:
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
    if request.path.startswith("/api/"):
        detail = "The database is unavailable" if service == "database" else "A service is unavailable"
        response = JsonResponse(
            {"status": 503, "code": "service_unavailable", "detail": f"{detail}; retry shortly."},
            status=503,
        )
    else:
        try:
            # Without the request: its context processors would ask the database that is down.
            body = loader.get_template("503.html").render({})
        except Exception:  # noqa: BLE001 - an error page must never fail
            body = _unavailable_html()
        response = HttpResponse(body, status=503)
    response["Retry-After"] = "5"
    return response


def server_error(request):
    service = _outage(sys.exc_info()[1])
    if service is not None:
        return _unavailable(request, service)
    if request.path.startswith("/api/"):
        return JsonResponse({"status": 500, "code": "server_error", "detail": "Internal error."}, status=500)
    return _page(request, "500.html", _error_html, status=500)


def bad_request(request, exception):
    """A 400 caused by a database error is an outage too.

    The session middleware turns a failure to save the session (the database went down
    during the request; every page saves it: SESSION_SAVE_EVERY_REQUEST) into
    SessionInterrupted, a 400 "Bad Request". The database error is in its context chain.
    """
    service = _outage(exception)
    if service is not None:
        return _unavailable(request, service)
    return _page(request, "400.html", _bad_request_html, status=400)


def _page(request, template_name: str, fallback, *, status: int, context: dict | None = None) -> HttpResponse:
    """The error page in the portal's layout and the request's language (templates/<status>.html).

    Rendered with the request, so the navigation and the next steps fit the user; if the page
    itself cannot be rendered (the error came from the layout), the bare fallback is answered.
    """
    try:
        body = loader.get_template(template_name).render(context or {}, request)
    except Exception:  # noqa: BLE001 - an error page must never fail
        body = fallback()
    return HttpResponse(body, status=status)


def bad_parameter(request, reason: str) -> HttpResponse:
    """A refused parameter (config.middleware.RefuseControlCharactersMiddleware): the 400 page, saying why."""
    return _page(request, "400.html", _bad_request_html, status=400, context={"reason": reason})

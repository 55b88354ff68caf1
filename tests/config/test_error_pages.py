"""400/403/404/500 pages in the portal's layout and the user's language, with DEBUG off (issue 16, item 5)."""

import pytest
from django.template import loader
from django.test import Client, override_settings

from tests.factories import OperatorFactory, auditor, operator_staff

pytestmark = pytest.mark.django_db

OFF = override_settings(DEBUG=False, ROOT_URLCONF="tests.config.error_urls", ALLOWED_HOSTS=["testserver"])


def _client(user=None, language: str | None = None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    return client


def _layout(body: str) -> None:
    assert 'class="topbar"' in body, "the portal's layout"
    assert 'id="error-page"' in body
    assert "Not Found" not in body
    assert "Forbidden" not in body


@OFF
def test_missing_page_is_404_in_the_layout_in_russian_with_next_steps():
    response = _client(auditor()).get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    _layout(body)
    assert "Страница не найдена" in body
    assert 'href="/dashboard/"' in body  # an auditor is offered the dashboard


@OFF
def test_missing_page_for_an_anonymous_visitor_offers_the_login():
    response = _client().get("/filings/999999/progress.json")
    # Anonymous: the login redirect, not an error; a plain missing URL is a 404 in the layout.
    assert response.status_code == 302
    response = _client().get("/no-such-page/")
    assert response.status_code == 404
    assert 'href="/accounts/login/"' in response.content.decode()


@OFF
def test_404_in_english_when_the_user_chose_english():
    response = _client(auditor(), language="en").get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    _layout(body)
    assert "Page not found" in body
    assert "Страница не найдена" not in body


@OFF
def test_forbidden_page_is_403_in_the_layout():
    # Operator staff may not start a scan: PermissionDenied in audits/views.flag_list.
    staff = operator_staff(OperatorFactory())
    response = _client(staff).post("/audits/flags/")
    assert response.status_code == 403
    body = response.content.decode()
    _layout(body)
    assert "Доступ запрещён" in body
    assert 'href="/filings/"' in body  # operator staff are sent back to their filings


@OFF
def test_bad_request_is_400_in_the_layout():
    response = _client(auditor()).get("/test-only/bad/")
    assert response.status_code == 400
    body = response.content.decode()
    _layout(body)
    assert "Неверный запрос" in body


@OFF
def test_unknown_host_is_400_in_the_layout():
    response = _client().get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "Неверный запрос" in response.content.decode()


@OFF
def test_server_error_is_500_in_the_layout():
    response = _client(auditor()).get("/test-only/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    _layout(body)
    assert "Внутренняя ошибка" in body
    assert "test-only failure" not in body


@OFF
def test_csrf_failure_is_403_in_the_layout():
    client = Client(enforce_csrf_checks=True)
    client.force_login(auditor())
    response = client.post("/audits/flags/")
    assert response.status_code == 403
    assert "Обновите страницу с формой" in response.content.decode()


@OFF
def test_a_refused_parameter_is_400_in_the_layout_saying_why():
    response = _client(auditor()).get("/filings/?status=%00")
    assert response.status_code == 400
    body = response.content.decode()
    _layout(body)
    assert "Управляющий символ в параметре запроса." in body
    english = _client(auditor(), language="en").get("/filings/?status=%00").content.decode()
    assert "A control character in a request parameter." in english


@OFF
@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [("ru", "Внутренняя ошибка", "Internal error"), ("en", "Internal error", "Внутренняя ошибка")],
)
def test_when_the_layout_itself_fails_the_bare_page_is_in_one_language(monkeypatch, language, shown, not_shown):
    def broken(*args, **kwargs):
        raise RuntimeError("the layout cannot be rendered")

    monkeypatch.setattr(loader, "get_template", broken)
    response = _client(auditor(), language=language).get("/test-only/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert shown in body
    assert not_shown not in body
    assert " / " not in body
    assert f"lang={language}" in body


def test_a_driver_error_django_did_not_wrap_is_an_outage_too():
    """A server-side cursor closed while PostgreSQL shuts down raises psycopg's AdminShutdown as it is
    (Django's cursor iterator closes it in a `finally`): a 503 like any database outage, never a 500."""
    import psycopg

    from config.errors import _outage

    assert _outage(psycopg.errors.AdminShutdown("terminating connection due to administrator command")) == "database"
    assert _outage(psycopg.InterfaceError("the connection is closed")) == "database"
    outer = RuntimeError("rendering the page")
    outer.__cause__ = psycopg.errors.AdminShutdown("terminating connection")
    assert _outage(outer) == "database"  # found in the chain
    assert _outage(psycopg.errors.UniqueViolation("duplicate key")) is None  # not an outage: a 500
    assert _outage(ValueError("x")) is None

"""While the database cannot be reached, pages and the API answer 503 with Retry-After, never a 500."""

import pytest
from django.db import connections
from django.urls import reverse

from api.services import api_token_create
from tests.factories import OperatorFactory, auditor

# Transactional: the outage closes the connection, which must not hold the test's own transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_down(monkeypatch):
    """Point the connection at a port where nothing listens, as if PostgreSQL were restarting."""

    def down():
        connection = connections["default"]
        connection.close()
        monkeypatch.setitem(connection.settings_dict, "PORT", "1")

    yield down
    connections["default"].close()


def test_page_answers_503_while_the_database_is_down(client, database_down):
    OperatorFactory()
    client.force_login(auditor())
    client.raise_request_exception = False  # answer as the server would, not re-raise into the test
    database_down()
    response = client.get(reverse("operators:list"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Traceback" not in response.content


def test_api_answers_503_json_while_the_database_is_down(client, database_down):
    key = api_token_create(name="NB", scopes=["operators"]).key
    client.raise_request_exception = False
    database_down()
    response = client.get("/api/v1/operators/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


def test_page_answers_503_when_the_database_fails_while_saving_the_session(client, monkeypatch):
    """The session middleware would turn this into SessionInterrupted, a 400 "Bad Request"."""
    from django.contrib.sessions.models import Session
    from django.db import OperationalError

    client.force_login(auditor())
    client.raise_request_exception = False

    def down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Session, "save", down)
    response = client.get(reverse("operators:list"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_the_503_page_is_in_the_portals_look_and_the_users_language(client, database_down):
    client.force_login(auditor())
    client.cookies["django_language"] = "en"
    client.raise_request_exception = False
    database_down()
    response = client.get(reverse("operators:list"))
    assert response.status_code == 503
    body = response.content.decode()
    assert 'class="topbar"' in body
    assert "Service temporarily unavailable" in body
    assert "Сервис временно недоступен" not in body

"""Account and page security that every request gets: lockout, CSP, refusals logged, session expiry."""

import pytest
from django.conf import settings
from django.urls import reverse

from auditlog.models import AuditEvent
from tests.factories import OperatorFactory, UserFactory, operator_staff

pytestmark = pytest.mark.django_db


def test_five_failed_logins_lock_the_account_and_the_lockout_is_logged(client):
    UserFactory(username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": "victim", "password": "wrong"})
        assert response.status_code in (200, 429)
    locked = client.post(reverse("login"), {"username": "victim", "password": "correct-horse-battery"})
    assert locked.status_code == 429
    assert "Вход временно заблокирован" in locked.content.decode()
    events = AuditEvent.objects.filter(action="auth.locked_out")
    assert events.exists()
    assert {e.details["username"] for e in events} == {"victim"}


def test_correct_password_logs_in_before_the_limit(client):
    UserFactory(username="clerk")
    client.post(reverse("login"), {"username": "clerk", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "clerk", "password": "correct-horse-battery"})
    assert response.status_code == 302


def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_refusal_of_an_authenticated_user_is_logged(client):
    own, other = OperatorFactory(), OperatorFactory()
    user = operator_staff(own)
    client.force_login(user)
    assert client.get(reverse("operators:detail", args=[other.pk])).status_code == 404
    event = AuditEvent.objects.get(action="access.refused")
    assert event.actor_id == user.pk
    assert event.details["path"] == reverse("operators:detail", args=[other.pk])


def test_anonymous_requests_are_not_logged_as_refusals(client):
    client.get("/no-such-page/")
    assert not AuditEvent.objects.filter(action="access.refused").exists()


def test_session_expires_after_inactivity():
    assert settings.SESSION_COOKIE_AGE <= 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True

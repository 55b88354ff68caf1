"""What browsers ask for on their own is answered cheaply and never written to the audit log as a refusal;
the admin pages carry the portal's icon."""

import pytest

from auditlog.middleware import is_automatic_request
from auditlog.models import AuditEvent
from tests.factories import auditor

pytestmark = pytest.mark.django_db


def test_favicon_and_robots_are_served_to_anyone(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301
    assert icon["Location"].endswith("favicon.svg")
    robots = client.get("/robots.txt")
    assert robots.status_code == 200
    assert robots.content == b"User-agent: *\nDisallow: /\n"


@pytest.mark.parametrize(
    "path", ["/favicon.ico", "/robots.txt", "/apple-touch-icon.png", "/apple-touch-icon-precomposed.png"]
)
def test_browser_requests_of_a_logged_in_user_leave_no_audit_event(client, path):
    client.force_login(auditor())
    client.get(path)
    assert not AuditEvent.objects.filter(action="access.refused").exists()


def test_a_real_refusal_is_still_recorded(client):
    client.force_login(auditor())
    assert client.get("/filings/999999/file").status_code == 404
    assert AuditEvent.objects.filter(action="access.refused").count() == 1


def test_automatic_paths_only():
    assert is_automatic_request("/favicon.ico")
    assert is_automatic_request("/.well-known/security.txt")
    assert not is_automatic_request("/favicon.ico/../admin/")
    assert not is_automatic_request("/filings/1/")


def test_admin_pages_link_the_icon(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root-icon", "root@example.by", "correct-horse-battery")
    client.force_login(admin)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert 'rel="icon"' in page.content.decode()
    assert "favicon.svg" in page.content.decode()


def test_favicon_is_served_before_the_second_factor(client, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    client.force_login(auditor())  # an SCC user who has not confirmed a code yet
    assert client.get("/robots.txt").status_code == 200
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301
    assert icon["Location"].endswith("favicon.svg")

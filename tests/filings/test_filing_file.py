"""A filing's stored file through the portal (filings:file), and the admin's link to it (issue 16 item 7)."""

import pytest
from django.urls import reverse

from auditlog.models import AuditEvent
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

pytestmark = pytest.mark.django_db

CONTENT = TRANSFER_HEADER + "TX-1,2025-03-05T10:00:00+03:00,OUT,inv-1,binance,AE,USDT,1.5,2\n"


@pytest.fixture
def filing():
    return submit(OperatorFactory(), CONTENT.encode()).filing


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_auditor_and_own_staff_download_the_stored_file(client, filing):
    url = reverse("filings:file", args=[filing.pk])
    for user in (auditor(), operator_staff(filing.operator)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert _body(response) == CONTENT.encode()
        assert response["Content-Disposition"].startswith("attachment")
    assert AuditEvent.objects.filter(action="filing.file_read", object_id=str(filing.pk)).count() == 2


def test_other_operators_staff_get_404_and_anonymous_the_login_page(client, filing):
    url = reverse("filings:file", args=[filing.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(operator_staff(OperatorFactory()))
    assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="filing.file_read").exists()
    assert AuditEvent.objects.filter(action="access.refused", details__path=url).exists()


def test_the_admin_links_the_file_through_the_portal_view(client, filing, django_user_model):
    admin = django_user_model.objects.create_superuser("root-format", "root@example.by", "correct-horse-battery")
    client.force_login(admin)
    page = client.get(reverse("admin:operators_registrationfiling_change", args=[filing.pk]))
    assert page.status_code == 200
    link = reverse("filings:file", args=[filing.pk])
    assert link in page.content.decode()
    assert "/media/" not in page.content.decode()
    assert client.get(link).status_code == 200

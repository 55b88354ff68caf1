"""Two-factor authentication: required for auditors and supervisors (production default), optional for staff."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from auditlog.models import AuditEvent
from tests.factories import OperatorFactory, auditor, operator_staff, supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings):
    settings.OTP_REQUIRED_FOR_SCC = True


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def test_auditor_without_a_confirmed_code_reaches_only_the_two_factor_page(client):
    client.force_login(auditor())
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))
    assert client.get("/queue/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_first_login_sets_up_the_authenticator_then_the_portal_opens(client):
    user = supervisor()
    client.force_login(user)
    page = client.get(reverse("two_factor"), {"next": "/queue/"})
    assert "totp-key" in page.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    done = client.post(reverse("two_factor"), {"token": _code(device), "next": "/queue/"})
    assert done["Location"] == "/queue/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.two_factor_setup", actor_id=user.pk).exists()


def test_a_wrong_code_is_refused_and_throttled(client):
    user = auditor()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    wrong = "000000" if _code(device) != "000000" else "111111"
    response = client.post(reverse("two_factor"), {"token": wrong})
    assert response.status_code == 200
    assert "Неверный" in response.content.decode()
    # django-otp throttles after a failure: even the right code waits out the delay.
    assert client.post(reverse("two_factor"), {"token": _code(device)}).status_code == 200
    assert client.get(reverse("dashboard")).status_code == 302


def test_next_login_asks_for_a_code_of_the_confirmed_device(client):
    user = auditor()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    assert "totp-key" not in client.get(reverse("two_factor")).content.decode()
    client.post(reverse("two_factor"), {"token": _code(device)})
    assert client.get(reverse("dashboard")).status_code == 200


def test_open_redirects_are_refused(client):
    user = auditor()
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    response = client.post(reverse("two_factor"), {"token": _code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_operator_staff_are_not_forced(client):
    op = OperatorFactory()
    client.force_login(operator_staff(op))
    assert client.get(reverse("filings:list")).status_code == 200


def test_operator_staff_who_set_up_an_authenticator_must_use_it(client):
    op = OperatorFactory()
    user = operator_staff(op)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    assert client.get(reverse("filings:list"))["Location"].startswith(reverse("two_factor"))

"""The client's address and scheme come only from the trusted proxy; signed-in and API answers are never cached;
CSV downloads carry registered charset labels (issue 14, item 8)."""

import pytest
from django.test import RequestFactory, override_settings

from config.middleware import TrustedProxyMiddleware
from tests.factories import OperatorFactory, auditor, operator_staff

PROXY = "172.30.0.10"


def _seen(**meta) -> dict:
    seen = {}

    def view(request):
        seen["addr"] = request.META["REMOTE_ADDR"]
        seen["secure"] = request.is_secure()
        return None

    with override_settings(TRUSTED_PROXIES=[PROXY], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        TrustedProxyMiddleware(view)(RequestFactory().get("/", **meta))
    return seen


def test_the_proxy_says_who_the_client_is_and_that_it_used_https():
    seen = _seen(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7", HTTP_X_FORWARDED_PROTO="https")
    assert seen == {"addr": "203.0.113.7", "secure": True}


def test_entries_a_client_wrote_before_the_proxy_are_ignored():
    seen = _seen(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7")
    assert seen["addr"] == "203.0.113.7"


def test_anyone_else_cannot_claim_an_address_or_https():
    seen = _seen(REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="10.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    assert seen == {"addr": "198.51.100.4", "secure": False}


def test_a_garbage_forwarded_address_keeps_the_proxys():
    assert _seen(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="<script>")["addr"] == PROXY


@pytest.mark.django_db
def test_login_lockout_counts_each_client_behind_the_proxy_apart(client, settings):
    """Five failures from one client lock that client, not every client the proxy forwards."""
    from auditlog.models import AuditEvent

    settings.TRUSTED_PROXIES = [PROXY]
    auditor(username="ivanov")
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"username": "ivanov", "password": "wrong-password-1"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )
    locked = client.post(
        "/accounts/login/",
        {"username": "ivanov", "password": "correct-horse-battery"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    assert locked.status_code == 429
    other = client.post(
        "/accounts/login/",
        {"username": "ivanov", "password": "correct-horse-battery"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302
    assert AuditEvent.objects.filter(ip="203.0.113.7").exists()


@pytest.mark.django_db
def test_signed_in_pages_exports_and_api_answers_are_not_stored(client):
    client.force_login(auditor())
    for path in ("/dashboard/", "/queue/", "/queue.csv", "/operators/", "/api/v1/operators/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path
    client.logout()
    assert "no-store" in client.get("/api/v1/operators/")["Cache-Control"]  # a refusal too


@pytest.mark.django_db
@pytest.mark.parametrize(("encoding", "label"), [("utf-8", "utf-8"), ("cp1251", "windows-1251")])
def test_the_error_report_csv_names_a_registered_charset(client, encoding, label):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from filings.services import filing_submit

    op = OperatorFactory()
    staff = operator_staff(op)
    text = "external_id;occurred_at;direction\r\nX;вчера;OUT\r\n"
    upload = SimpleUploadedFile("register.csv", text.encode(encoding))
    from datetime import date

    result = filing_submit(
        operator=op,
        kind="transfer_register",
        period_start=date(2025, 3, 1),
        period_end=date(2025, 3, 31),
        uploaded_file=upload,
        user=staff,
        process_now=True,
    )
    client.force_login(staff)
    response = client.get(f"/filings/{result.filing.pk}/errors.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == f"text/csv; charset={label}"
    assert response.content.decode(label).lstrip("\ufeff").startswith("external_id")

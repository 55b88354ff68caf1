"""Webhooks for agencies: who gets which event, signed deliveries, retries with backoff on a real worker."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import Scope
from api.services import api_token_create
from audits.models import Flag, FlagStatus, Rule
from outflows.models import OutflowRun, RunStatus
from tests.api.conftest import make_filing
from tests.audits.helpers import seed_catalogue
from tests.audits.otp_login import login_verified
from tests.conftest import wait_for
from tests.factories import OperatorFactory, auditor, operator_staff, supervisor
from webhooks.models import Delivery, DeliveryStatus, Event, Subscription
from webhooks.services import retry_delay, sign, signature_valid, webhooks_collect
from webhooks.tasks import deliver


def test_the_signature_covers_timestamp_and_body_and_refuses_a_replay():
    body = b'{"event":"run.finished","id":1}'
    signature = sign(secret="s3cret", timestamp=1_000_000, body=body)
    assert signature_valid(secret="s3cret", timestamp=1_000_000, body=body, signature=signature, now=1_000_100)
    assert not signature_valid(
        secret="s3cret", timestamp=1_000_000, body=body + b" ", signature=signature, now=1_000_100
    )
    assert not signature_valid(secret="other", timestamp=1_000_000, body=body, signature=signature, now=1_000_100)
    assert not signature_valid(secret="s3cret", timestamp=1_000_000, body=body, signature=signature, now=1_000_400)


def test_backoff_doubles_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 2
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert retry_delay(30) == 3600


def _finished_run() -> OutflowRun:
    now = timezone.now()
    return OutflowRun.objects.create(
        as_of=now, status=RunStatus.FINISHED, started_at=now, finished_at=now, input_rows=5
    )


def _referred_flag(operator, agency: str) -> Flag:
    rule = Rule.objects.order_by("id").first()
    return Flag.objects.create(
        operator=operator, rule=rule, fingerprint=f"{agency}{operator.pk}".ljust(64, "0"), subject="s",
        severity="high", status=FlagStatus.REFERRED, referred_to=agency, decided_at=timezone.now(),
    )  # fmt: skip


@pytest.mark.django_db
def test_each_token_gets_the_events_its_access_allows_once():
    op_a, op_b = OperatorFactory(), OperatorFactory()
    fmd = api_token_create(name="FMD", scopes=[Scope.FLAGS, Scope.OUTFLOWS]).token
    fmd.agency = "fmd"
    fmd.save()
    tax_no_outflows = api_token_create(name="Tax", scopes=[Scope.FLAGS, Scope.FILINGS]).token
    tax_no_outflows.agency = "tax"
    tax_no_outflows.save()
    staff = operator_staff(op_a)
    operator_token = api_token_create(name="A", scopes=[Scope.FILINGS], user=staff, operator=op_a).token
    everything = [Event.RUN_FINISHED, Event.FLAG_REFERRED, Event.FILING_ACCEPTED]
    subs = {
        t.name: Subscription.objects.create(token=t, url="http://127.0.0.1:9/hook", events=everything)
        for t in (fmd, tax_no_outflows, operator_token)
    }
    webhooks_collect()  # the cursors start here: nothing from before
    run = _finished_run()
    to_fmd, to_tax = _referred_flag(op_a, "fmd"), _referred_flag(op_b, "tax")
    filing_a, filing_b = make_filing(op_a), make_filing(op_b, sha256="1" * 64)
    time.sleep(0.05)
    # Up to now, whatever other sessions of this database hold open (the watermark itself is
    # tested in tests/api/test_feeds.py): the test is about who gets which event.
    webhooks_collect(until=timezone.now())
    webhooks_collect(until=timezone.now())  # twice: nothing twice

    def keys(name):
        return sorted(Delivery.objects.filter(subscription=subs[name]).values_list("event_key", flat=True))

    assert keys("FMD") == sorted([f"run:{run.pk}", f"flag:{to_fmd.pk}:fmd"])
    assert keys("Tax") == sorted([f"flag:{to_tax.pk}:tax", f"filing:{filing_a.pk}", f"filing:{filing_b.pk}"])
    assert keys("A") == [f"filing:{filing_a.pk}"]
    payload = Delivery.objects.get(subscription=subs["FMD"], event=Event.RUN_FINISHED).payload
    assert payload == {
        "event": "run.finished", "id": run.pk, "as_of": run.as_of.isoformat(), "window_days": run.window_days,
        "finished_at": run.finished_at.isoformat(), "input_rows": 5, "url": f"/api/v1/outflows/runs/{run.pk}/",
    }  # fmt: skip


@pytest.mark.django_db
def test_a_revoked_token_or_an_inactive_subscription_gets_nothing():
    token = api_token_create(name="NB", scopes=[Scope.OUTFLOWS]).token
    sub = Subscription.objects.create(token=token, url="http://127.0.0.1:9/", events=[Event.RUN_FINISHED])
    webhooks_collect()
    token.revoked_at = timezone.now()
    token.save()
    _finished_run()
    time.sleep(0.05)
    webhooks_collect()
    assert not Delivery.objects.filter(subscription=sub).exists()


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"headers": dict(self.headers), "body": body, "at": time.monotonic()})
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_gets_the_event_again_later_signed_and_the_log_shows_it(celery_worker_process, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    if not Rule.objects.exists():
        seed_catalogue()
    _Receiver.answers, _Receiver.received = [500], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        token = api_token_create(name="NB", scopes=[Scope.OUTFLOWS]).token
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        sub = Subscription.objects.create(token=token, url=url, events=[Event.RUN_FINISHED])
        webhooks_collect()
        run = _finished_run()
        time.sleep(0.05)
        for delivery_id in webhooks_collect(until=timezone.now()):
            deliver.delay(delivery_id)
        delivery = wait_for(
            lambda: Delivery.objects.filter(subscription=sub, status=DeliveryStatus.DELIVERED).first(), timeout=60
        )
    finally:
        server.shutdown()
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    first, second = _Receiver.received
    assert second["at"] - first["at"] >= 1.5  # the backoff (2 s) between the two attempts
    headers, body = second["headers"], second["body"]
    assert headers["X-Portal-Event"] == "run.finished"
    assert headers["X-Portal-Delivery"] == str(delivery.pk)
    timestamp = int(headers["X-Portal-Timestamp"])
    assert signature_valid(secret=sub.secret, timestamp=timestamp, body=body, signature=headers["X-Portal-Signature"])
    assert json.loads(body) == {"delivery": delivery.pk, **delivery.payload}
    assert json.loads(body)["id"] == run.pk


@pytest.mark.django_db
def test_a_receiver_that_never_answers_ends_failed_after_the_last_attempt(settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    token = api_token_create(name="NB", scopes=[Scope.OUTFLOWS]).token
    sub = Subscription.objects.create(token=token, url="http://127.0.0.1:9/closed", events=[Event.RUN_FINISHED])
    delivery = Delivery.objects.create(subscription=sub, event=Event.RUN_FINISHED, event_key="run:1", payload={})
    from webhooks.services import webhook_deliver

    assert webhook_deliver(delivery_id=delivery.pk).status == DeliveryStatus.PENDING
    assert webhook_deliver(delivery_id=delivery.pk) is None  # not before its retry time
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    final = webhook_deliver(delivery_id=delivery.pk)
    assert (final.status, final.attempts, final.last_status_code) == (DeliveryStatus.FAILED, 2, None)
    assert final.last_error


@pytest.mark.django_db
def test_only_supervisors_see_subscriptions_and_the_delivery_log(client):
    for make, status in ((auditor, 403), (supervisor, 200)):
        user = make()
        user.is_staff = True
        user.save()
        login_verified(client, user)
        for name in ("admin:webhooks_subscription_changelist", "admin:webhooks_delivery_changelist"):
            assert client.get(reverse(name)).status_code == status, (make.__name__, name)
        client.logout()

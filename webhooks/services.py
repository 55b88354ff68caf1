"""Webhooks for agencies (issue 19 item 5): which events a token's subscription gets, and sending them.

Collecting. The events are read from the tables that hold them, not pushed by the layers below
(they do not know this app exists): a finished outflow run, a flag referred to an agency, an
accepted filing. `webhooks_collect` (Celery beat, every 30 s) reads each kind changed since its
cursor and before the watermark of api.feeds (the start of the oldest transaction still open), so
an event committed late is still collected, once; it creates one Delivery per subscription and
event (unique: collecting twice sends nothing twice) for the tokens that may see it, by the one
access rule (the token's Access: scopes, operators; a referral only to the agency it was referred
to), and for events after the subscription was made.

Sending. `webhook_deliver` POSTs the event as JSON with
  X-Portal-Event: run.finished            X-Portal-Delivery: <delivery id>
  X-Portal-Timestamp: <unix seconds>      X-Portal-Signature: sha256=<hex>
the signature being HMAC-SHA256(secret, "<timestamp>.<body>"); a receiver checks it and refuses a
timestamp more than 5 minutes old (replay). A 2xx answer ends it; anything else (error, timeout,
refused connection) is tried again after WEBHOOK_RETRY_BASE_SECONDS x 2^(attempt-1), capped at an
hour, up to WEBHOOK_MAX_ATTEMPTS, then the delivery is `failed`. Every attempt's outcome is on the
Delivery row (the log supervisors read in the admin). The retry is a Celery countdown; the collect
task also sends any pending delivery whose time has come (a lost message is not a lost event).
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.access import access_for_token
from api.feeds import feed_watermark
from audits.models import Flag, FlagStatus
from operators.models import FilingStatus, RegistrationFiling
from outflows.models import OutflowRun, RunStatus
from webhooks.models import Cursor, Delivery, DeliveryStatus, Event, Subscription

USER_AGENT = "crypto-oversight-portal-webhooks/1"
MAX_DELAY_SECONDS = 3600


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(*, secret: str, timestamp: int, body: bytes, signature: str, now: float | None = None) -> bool:
    """What a receiver checks (README): the signature, and a timestamp at most 5 minutes off."""
    fresh = abs((time.time() if now is None else now) - timestamp) <= 300
    return fresh and hmac.compare_digest(sign(secret=secret, timestamp=timestamp, body=body), signature)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _run_event(run: OutflowRun) -> dict:
    payload = {
        "id": run.pk,
        "as_of": _iso(run.as_of),
        "window_days": run.window_days,
        "finished_at": _iso(run.finished_at),
        "input_rows": run.input_rows,
        "url": f"/api/v1/outflows/runs/{run.pk}/",
    }
    return {"key": f"run:{run.pk}", "at": run.updated_at, "scope": "outflows", "payload": payload}


def _flag_event(flag: Flag) -> dict:
    payload = {
        "id": flag.pk,
        "operator": flag.operator.unp,
        "rule": flag.rule.code,
        "severity": flag.severity,
        "referred_to": flag.referred_to,
        "decided_at": _iso(flag.decided_at),
        "url": f"/api/v1/flags/{flag.pk}/",
    }
    key = f"flag:{flag.pk}:{flag.referred_to}"
    event = {"key": key, "at": flag.updated_at, "scope": "flags", "payload": payload}
    return event | {"operator_id": flag.operator_id, "agency": flag.referred_to}


def _filing_event(filing: RegistrationFiling) -> dict:
    payload = {
        "id": filing.pk,
        "operator": filing.operator.unp,
        "kind": filing.kind,
        "period_start": _iso(filing.period_start),
        "period_end": _iso(filing.period_end),
        "url": f"/api/v1/filings/{filing.pk}/",
    }
    event = {"key": f"filing:{filing.pk}", "at": filing.updated_at, "scope": "filings", "payload": payload}
    return event | {"operator_id": filing.operator_id}


def _events(kind: str, since: datetime, until: datetime) -> list[dict]:
    """The events of `kind` changed in [since, until): key, time, who may see it, payload."""
    window = {"updated_at__gte": since, "updated_at__lt": until}
    if kind == Event.RUN_FINISHED:
        return [_run_event(run) for run in OutflowRun.objects.filter(status=RunStatus.FINISHED, **window)]
    if kind == Event.FLAG_REFERRED:
        flags = Flag.objects.filter(status=FlagStatus.REFERRED, **window).exclude(referred_to="")
        return [_flag_event(flag) for flag in flags.select_related("operator", "rule")]
    filings = RegistrationFiling.objects.filter(status=FilingStatus.ACCEPTED, **window).select_related("operator")
    return [_filing_event(filing) for filing in filings]


def _may_see(subscription: Subscription, access, event: dict) -> bool:
    if event["at"] < subscription.created_at or not access.has_scope(event["scope"]):
        return False
    if "agency" in event and access.role == "agency":
        return subscription.token.agency == event["agency"]
    if "operator_id" in event:
        return access.sees_operator(event["operator_id"])
    return access.reads_everything


def _usable(subscription: Subscription, now: datetime) -> bool:
    token = subscription.token
    return token.revoked_at is None and not token.is_expired(now)


def webhooks_collect(*, now: datetime | None = None, until: datetime | None = None) -> list[int]:
    """Create the deliveries of the events since each cursor and before `until` (default: the feeds'
    watermark); return the pending deliveries due now."""
    now = now or timezone.now()
    until = until or feed_watermark()
    with transaction.atomic():
        subscriptions = [
            s
            for s in Subscription.objects.filter(active=True).select_related("token", "token__user")
            if _usable(s, now)
        ]
        for kind in Event.values:
            cursor, _ = Cursor.objects.select_for_update().get_or_create(
                event=kind, defaults={"collected_until": until}
            )
            if cursor.collected_until >= until:
                continue
            wanted = [s for s in subscriptions if kind in s.events]
            if wanted:
                events = _events(kind, cursor.collected_until, until)
                rows = []
                for subscription in wanted:
                    access = access_for_token(subscription.token)
                    rows += [
                        Delivery(
                            subscription=subscription,
                            event=kind,
                            event_key=e["key"],
                            payload={"event": kind, **e["payload"]},
                            next_attempt_at=now,
                        )
                        for e in events
                        if _may_see(subscription, access, e)
                    ]
                Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            cursor.collected_until = until
            cursor.save(update_fields=["collected_until"])
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return list(due.values_list("id", flat=True)[:1000])


def retry_delay(attempts: int) -> float:
    return min(MAX_DELAY_SECONDS, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:  # refused, timed out, unreachable, bad address
        return None, str(exc)[:500]


def webhook_deliver(*, delivery_id: int) -> Delivery | None:
    """One attempt at a pending delivery whose time has come (None: nothing to do). The row stays
    locked during the attempt, so two workers never send the same attempt."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("subscription")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        now = timezone.now()
        if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now):
            return None
        subscription = delivery.subscription
        body = json.dumps({"delivery": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Portal-Event": delivery.event,
            "X-Portal-Delivery": str(delivery.pk),
            "X-Portal-Timestamp": str(timestamp),
            "X-Portal-Signature": sign(secret=subscription.secret, timestamp=timestamp, body=body),
        }
        status, error = _post(subscription.url, body, headers)
        delivery.attempts += 1
        delivery.last_status_code = status
        delivery.last_error = error
        if status is not None and 200 <= status < 300:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
        elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_delay(delivery.attempts))
        delivery.save()
        return delivery

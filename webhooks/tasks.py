"""Thin Celery tasks over webhooks.services."""

from celery import shared_task

from webhooks.models import DeliveryStatus
from webhooks.services import webhook_deliver, webhooks_collect


@shared_task(name="webhooks.collect")
def collect() -> int:
    due = webhooks_collect()
    for delivery_id in due:
        deliver.delay(delivery_id)
    return len(due)


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: int) -> str | None:
    delivery = webhook_deliver(delivery_id=delivery_id)
    if delivery is None:
        return None
    if delivery.status == DeliveryStatus.PENDING:
        deliver.apply_async((delivery_id,), eta=delivery.next_attempt_at)
        return f"retry at {delivery.next_attempt_at.isoformat()}"
    return delivery.status

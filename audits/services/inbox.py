"""Writes of the notifications page: a user marks their in-portal notifications read."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from audits.models import Notification


def notifications_mark_read(*, user: AbstractBaseUser) -> int:
    """Mark the user's unread notifications read. Idempotent; returns how many were unread."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())

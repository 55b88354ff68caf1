"""The append-only, hash-chained audit log (DESIGN section 7).

The tables keep the names they had when the log lived in the audits app (audits_auditevent,
audits_auditchainhead): the append-only trigger (audits/migrations/0004), the append function
(0005) and the application role's grants (0006) name them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Append-only log entry. `hash` = SHA-256 of this event's content including `prev_hash`.

    No foreign keys on purpose: deleting a user or a flag must never cascade into the log
    (and on PostgreSQL a trigger refuses UPDATE and DELETE on this table).
    On PostgreSQL events are written by the function `audits_events_append` (audits migration 0005),
    which names these columns: a change to them needs a new version of that function.
    """

    created_at = models.DateTimeField(_("время"), db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(_("пользователь"), max_length=150, blank=True)
    # Text, not inet: the hash covers exactly the string written (inet would re-format IPv6).
    ip = models.CharField(_("IP-адрес"), max_length=45, blank=True)
    action = models.CharField(_("событие"), max_length=64, db_index=True)
    object_type = models.CharField(_("тип объекта"), max_length=100, blank=True)
    object_id = models.CharField(_("номер объекта"), max_length=64, blank=True)
    object_repr = models.CharField(_("объект"), max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    details = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "audits_auditevent"
        ordering = ["id"]
        verbose_name = _("событие журнала")
        verbose_name_plural = _("журнал аудита")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audits_audi_object__148ded_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """Singleton (pk=1): the last event's id and hash. Locked FOR UPDATE while appending, so
    concurrent writers chain one after the other; also lets verify notice a deleted last event."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "audits_auditchainhead"

    def __str__(self) -> str:
        return f"head #{self.last_event_id}"

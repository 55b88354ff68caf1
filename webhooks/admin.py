"""Supervisors manage subscriptions and read the delivery log (DESIGN section 7: tokens are theirs).

Who may do what is the role table's (operators.roles.SUPERVISOR_MANAGES["webhooks"], asked through
Access by operators.backends): auditors see neither; the log is never edited here."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from auditlog.admin_audit import AuditedAdminMixin
from webhooks.models import Delivery, DeliveryStatus, Event, Subscription
from webhooks.tasks import deliver


class SubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(label=_("события"), choices=Event.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Subscription
        fields = ["token", "url", "events", "active"]


@admin.register(Subscription)
class SubscriptionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["token", "url", "events_shown", "active", "created_at"]
    readonly_fields = ["secret", "created_by", "created_at"]
    audit_values = ("token", "url", "events", "active")

    @admin.display(description=_("события"))
    def events_shown(self, obj) -> str:
        labels = dict(Event.choices)
        return ", ".join(str(labels.get(code, code)) for code in obj.events)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "subscription", "status", "attempts", "last_status_code", "created_at",
                    "delivered_at", "next_attempt_at"]  # fmt: skip
    list_filter = ["status", "event"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Отправить снова"))
    def send_again(self, request, queryset):
        ids = list(queryset.exclude(status=DeliveryStatus.DELIVERED).values_list("id", flat=True))
        queryset.filter(id__in=ids).update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None)
        for delivery_id in ids:
            deliver.delay(delivery_id)
        messages.success(request, _("Поставлено в очередь доставок: %(n)d") % {"n": len(ids)})

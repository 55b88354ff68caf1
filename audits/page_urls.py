"""The auditors' top-level pages (no namespace: `dashboard`, `queue`, `queue_export`, `notifications`)."""

from django.urls import path

from audits import exports, notification_views, ui_views

urlpatterns = [
    path("dashboard/", ui_views.dashboard, name="dashboard"),
    path("queue/", ui_views.queue, name="queue"),
    path("queue.<str:fmt>", exports.queue_export, name="queue_export"),
    path("notifications/", notification_views.notifications_page, name="notifications"),
]

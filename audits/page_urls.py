"""The auditors' top-level pages (no namespace: `dashboard`, `queue`, `queue_export`)."""

from django.urls import path

from audits import ui_views

urlpatterns = [
    path("dashboard/", ui_views.dashboard, name="dashboard"),
    path("queue/", ui_views.queue, name="queue"),
    path("queue.<str:fmt>", ui_views.queue_export, name="queue_export"),
]

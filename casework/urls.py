"""/casework/: referral packages, the operators' threads and data requests."""

from django.urls import path

from casework import message_views, operator_views, views

app_name = "casework"

urlpatterns = [
    path("referrals/flag/<int:flag_pk>.zip", views.referral_download, name="referral_download"),
    path("referrals/operator/<int:operator_pk>/", operator_views.operator_refer_view, name="operator_refer"),
    path("referrals/operator/<int:operator_pk>.zip", operator_views.operator_package_download, name="operator_package"),
    path("messages/", message_views.thread_list, name="threads"),
    path("messages/broadcast/", message_views.broadcast, name="broadcast"),
    path("messages/<int:operator_pk>/", message_views.thread, name="thread"),
    path("requests/<int:pk>/close/", message_views.request_close, name="request_close"),
    path("attachments/<int:pk>/", message_views.attachment_download, name="attachment"),
]

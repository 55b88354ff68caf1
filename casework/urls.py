"""/casework/: referral packages (and, later, messages)."""

from django.urls import path

from casework import views

app_name = "casework"

urlpatterns = [
    path("referrals/flag/<int:flag_pk>.zip", views.referral_download, name="referral_download"),
]

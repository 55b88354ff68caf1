"""Top-level pages of the registry layer (no namespace): the home redirect and the two-factor page."""

from django.urls import path

from operators import views
from operators.two_factor import two_factor

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/two-factor/", two_factor, name="two_factor"),
]

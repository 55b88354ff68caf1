"""The portal's URLs plus test-only views that raise, to reach the 400 and 500 handlers."""

from django.core.exceptions import SuspiciousOperation
from django.urls import path

from config.urls import handler400, handler500  # noqa: F401
from config.urls import urlpatterns as portal_urlpatterns


def _boom(request):
    raise RuntimeError("test-only failure")


def _suspicious(request):
    raise SuspiciousOperation("test-only bad request")


urlpatterns = [
    path("test-only/boom/", _boom),
    path("test-only/bad/", _suspicious),
    *portal_urlpatterns,
]

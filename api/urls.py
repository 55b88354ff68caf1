"""/api/v1/ (router), /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI from our own static files, no CDN)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from api import drilldown_views, feed_views, run_filing_views, views
from api.exceptions import not_found_json

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("operators", views.OperatorViewSet, basename="operator")
router.register("platforms", views.PlatformViewSet, basename="platform")
router.register("filings", views.FilingViewSet, basename="filing")
router.register(r"filings/(?P<filing_pk>\d+)/errors", views.FilingErrorViewSet, basename="filing-error")
router.register("flags", views.FlagViewSet, basename="flag")
router.register("transfers", views.TransferViewSet, basename="transfer")
router.register("outflows/runs", views.OutflowRunViewSet, basename="outflow-run")
router.register(
    r"outflows/runs/(?P<run_pk>\d+)/filings", run_filing_views.RunFilingViewSet, basename="outflow-run-filing"
)
router.register("outflows/stats", views.OutflowStatViewSet, basename="outflow-stat")
router.register("outflows/drilldown", drilldown_views.OutflowDrilldownViewSet, basename="outflow-drilldown")

# Bulk feeds (api/feed_views.py): the whole selection of a list as one CSV or Parquet stream.
feeds = [
    path("transfers", feed_views.TransferFeed.as_view({"get": "export"}), name="export-transfers"),
    path("stats", feed_views.StatFeed.as_view({"get": "export"}), name="export-stats"),
    path("flags", feed_views.FlagFeed.as_view({"get": "export"}), name="export-flags"),
]

urlpatterns = [
    path("v1/exports/", include(feeds)),
    path("v1/", include(router.urls)),
    # The interface description holds no data: readable without a token, so that
    # an agency analyst can open the docs in a browser (keys cannot be sent from one).
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^[\s\S]*$", not_found_json),  # [\s\S]: a path may hold an encoded newline
]

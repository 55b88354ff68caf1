from django.urls import path

from outflows import compare_views, drill_views, exports, views

app_name = "outflows"
urlpatterns = [
    path("stats/", views.stats, name="stats"),
    path("stats.<str:fmt>", exports.stats_export, name="stats_export"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/compare/", compare_views.runs_compare_page, name="runs_compare"),
    path("drilldown/", drill_views.drilldown_page, name="drilldown"),
    path("drilldown.<str:fmt>", drill_views.drilldown_export, name="drilldown_export"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers.<str:fmt>", exports.transfers_export, name="transfers_export"),
]

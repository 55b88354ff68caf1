from django.urls import path

from outflows import exports, views

app_name = "outflows"
urlpatterns = [
    path("stats/", views.stats, name="stats"),
    path("stats.<str:fmt>", exports.stats_export, name="stats_export"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers.<str:fmt>", exports.transfers_export, name="transfers_export"),
]

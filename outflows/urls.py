from django.urls import path

from outflows import views

app_name = "outflows"
urlpatterns = [
    path("stats/", views.stats, name="stats"),
    path("stats.<str:fmt>", views.stats_export, name="stats_export"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("transfers/", views.transfer_list, name="transfers"),
]

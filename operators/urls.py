from django.urls import path

from operators import views

app_name = "operators"
urlpatterns = [
    path("", views.operator_list, name="list"),
    path("<int:pk>/", views.operator_detail, name="detail"),
    path("<int:pk>/dossier.<str:fmt>", views.operator_dossier_export, name="dossier_export"),
]

"""The registry pages under /operators/, namespace `operators` (names unchanged): the list is the
registry's own page (operators.views); the dossier shows flags, so it is served from here."""

from django.urls import path

from audits import dossier_views, exports
from operators import exports as registry_exports
from operators import views

app_name = "operators"
urlpatterns = [
    path("", views.operator_list, name="list"),
    path("registry.<str:fmt>", registry_exports.registry_export, name="registry_export"),
    path("<int:pk>/", dossier_views.operator_detail, name="detail"),
    path("<int:pk>/dossier.<str:fmt>", exports.dossier_export, name="dossier_export"),
]

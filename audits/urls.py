from django.urls import path

from audits import exports, views

app_name = "audits"
urlpatterns = [
    path("flags/", views.flag_list, name="flag_list"),
    path("flags.<str:fmt>", exports.flag_list_export, name="flag_list_export"),
    path("flags/<int:pk>/", views.flag_detail, name="flag_detail"),
    path("flags/<int:pk>/answers/<int:note_pk>/file", views.answer_attachment, name="answer_attachment"),
]

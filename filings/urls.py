from django.urls import path

from filings import file_views, views

app_name = "filings"
urlpatterns = [
    path("", views.filing_list, name="list"),
    path("<int:pk>/", views.filing_detail, name="detail"),
    path("<int:pk>/errors.<str:fmt>", views.filing_error_report, name="error_report"),
    path("<int:pk>/file", file_views.filing_file, name="file"),
]

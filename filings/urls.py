from django.urls import path

from filings import file_views, upload_views, views

app_name = "filings"
urlpatterns = [
    path("", views.filing_list, name="list"),
    path("<int:pk>/", views.filing_detail, name="detail"),
    path("<int:pk>/errors.<str:fmt>", views.filing_error_report, name="error_report"),
    path("<int:pk>/file", file_views.filing_file, name="file"),
    # issue 16 item 4: progress, a dry run's kept file, its report and "Submit this file"
    path("<int:pk>/progress.json", upload_views.filing_progress, name="progress"),
    path("uploads/<str:token>/progress.json", upload_views.upload_progress, name="upload_progress"),
    path("checks/<str:token>/", upload_views.check_detail, name="check"),
    path("checks/<str:token>/submit", upload_views.check_submit, name="check_submit"),
    path("checks/<str:token>/errors.<str:fmt>", upload_views.check_report, name="check_report"),
    path("templates/<str:kind>.<str:fmt>", upload_views.file_template, name="file_template"),
]

from django.urls import path

from operators import filing_views

app_name = "filings"
urlpatterns = [
    path("", filing_views.filing_list, name="list"),
    path("<int:pk>/", filing_views.filing_detail, name="detail"),
    path("<int:pk>/errors.<str:fmt>", filing_views.filing_error_report, name="error_report"),
]

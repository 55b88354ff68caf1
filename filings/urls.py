from django.urls import path

from filings import views

app_name = "filings"
urlpatterns = [
    path("", views.filing_list, name="list"),
    path("<int:pk>/", views.filing_detail, name="detail"),
    path("<int:pk>/errors.<str:fmt>", views.filing_error_report, name="error_report"),
]

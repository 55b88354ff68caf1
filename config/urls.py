from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from audits import ui_views
from config.healthz import healthz
from config.two_factor import two_factor
from operators import views as operator_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", two_factor, name="two_factor"),
    path("admin/", admin.site.urls),
    path("", operator_views.home, name="home"),
    path("operators/", include("operators.urls")),
    path("filings/", include("filings.urls")),
    path("audits/", include("audits.urls")),
    path("dashboard/", ui_views.dashboard, name="dashboard"),
    path("queue/", ui_views.queue, name="queue"),
    path("queue.<str:fmt>", ui_views.queue_export, name="queue_export"),
    path("outflows/", include("outflows.urls")),
    path("api/", include("api.urls")),
]

handler400 = "config.errors.bad_request"
handler500 = "config.errors.server_error"

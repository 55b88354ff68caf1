"""The composition root: each app's pages by dotted include string (config imports no project app)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.healthz import healthz
from config.wellknown import favicon, robots

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("robots.txt", robots, name="robots"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # home, accounts/two-factor/
    path("", include("operators.site_urls")),
    # the registry list and the operator dossier (namespace operators)
    path("operators/", include("audits.operator_urls")),
    path("filings/", include("filings.urls")),
    path("audits/", include("audits.urls")),
    # dashboard/, queue/, queue.<fmt>
    path("", include("audits.page_urls")),
    path("outflows/", include("outflows.urls")),
    # sanctions screening review (issue 19): SCC only
    path("screening/", include("screening.urls")),
    path("casework/", include("casework.urls")),
    # referral packages for agencies (issue 18), before api.urls: its last route answers every other path
    path("api/v1/referrals/", include("api.referral_urls")),
    path("api/", include("api.urls")),
]

handler400 = "config.errors.bad_request"
handler500 = "config.errors.server_error"

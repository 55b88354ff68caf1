"""/api/v1/referrals/ (config/urls.py mounts it before api.urls, whose last route answers every other path)."""

from rest_framework.routers import DefaultRouter

from api.referral_views import ReferralPackageFileViewSet, ReferralPackageViewSet

app_name = "api-referrals"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("files", ReferralPackageFileViewSet, basename="referral-file")
router.register("", ReferralPackageViewSet, basename="referral")

urlpatterns = router.urls

"""The second factor on every way in (issue 14): a middleware of the registry layer, as it asks the roles."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from operators.access import access_for_user


class SccTwoFactorMiddleware:
    """The second factor guards every way in: pages, admin and the API used with a browser session.

    Auditors and supervisors (and anyone who set up an authenticator) reach nothing but the
    two-factor pages until they confirm a TOTP code: pages and the admin redirect there, the
    API (browsable pages included) answers 403 with its JSON error body. A request carrying an
    API token is the token's business (scopes, expiry), not the session's: it passes untouched.
    """

    # What a browser fetches on its own (icon, robots) is public and answered before the second factor too.
    OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz", "/favicon.ico", "/robots.txt")
    API_PREFIX = "/api/"

    @staticmethod
    def _required(user) -> bool:
        # Required for the SCC side; anyone else who set up an authenticator must use it too.
        return (settings.OTP_REQUIRED_FOR_SCC and access_for_user(user).is_auditor) or user_has_device(
            user, confirmed=True
        )

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _token_request(request) -> bool:
        return request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("token ")

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            # The path and the header first: a token request never loads the session's user.
            and not request.path.startswith(self.OPEN_PREFIXES)
            and not self._token_request(request)
            and user.is_authenticated
            and not user.is_verified()
            and self._required(user)
        ):
            if request.path.startswith(self.API_PREFIX):
                return JsonResponse(
                    {
                        "status": 403,
                        "code": "two_factor_required",
                        "detail": "Two-factor verification required: confirm an authenticator code at "
                        + reverse("two_factor"),
                    },
                    status=403,
                )
            return redirect(f"{reverse('two_factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

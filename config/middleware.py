from urllib.parse import urlencode

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import redirect
from django.urls import reverse


class RussianFirstLocaleMiddleware(LocaleMiddleware):
    """Russian unless the user chose another language with the switch (cookie).

    The browser's Accept-Language is not consulted: a state portal answers in
    its official language first, whatever locale the workstation was installed with.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)


class SccTwoFactorMiddleware:
    """Auditors and supervisors reach nothing but the two-factor pages until they confirm a TOTP code.

    Operator staff may enable it too (optional). The API authenticates with tokens, not sessions.
    """

    OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz", "/api/")

    @staticmethod
    def _required(user) -> bool:
        from django_otp import user_has_device

        from operators.roles import is_auditor

        # Required for the SCC side; anyone else who set up an authenticator must use it too.
        return (settings.OTP_REQUIRED_FOR_SCC and is_auditor(user)) or user_has_device(user, confirmed=True)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            # The path first: on the open paths (the API above all) the session's user is never loaded.
            and not request.path.startswith(self.OPEN_PREFIXES)
            and user.is_authenticated
            and not user.is_verified()
            and self._required(user)
        ):
            return redirect(f"{reverse('two_factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

"""`Authorization: Token <key>`: the key is looked up by its SHA-256 hash, never stored in clear."""

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from api.access import AgencyClient, access_for_token
from api.selectors import api_token_by_key_hash
from api.services import api_token_touch, key_hash
from api.throttling import AuthFailureLimit
from auditlog.services import audit_event_record

KEYWORD = "Token"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Agency, user and operator tokens (see ApiToken). A bad, expired or revoked key is a 401.

    Too many failures from one client address make its further bad keys 429 for the rest of
    the window (AuthFailureLimit), while its valid keys are still served; the address crossing
    the limit is written to the audit log once. Counted through Django's cache API: a Lua script
    counting both in one round trip gained no measurable throughput (bench/README_api.md).
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None  # no token: other authenticators (browser session) may still apply
        # REMOTE_ADDR, as the login lockout and the audit log use (the client's own behind the trusted
        # proxy: config.middleware.TrustedProxyMiddleware); a forwarding header from anyone else is dropped.
        address = request.META.get("REMOTE_ADDR", "")
        failures = AuthFailureLimit(address)
        try:
            digest = key_hash(self._key(header))
        except exceptions.AuthenticationFailed:
            if failures.exceeded():
                raise self._throttled(failures) from None
            self._failed(failures, address)
            raise
        # The key is looked up whatever the address's failures: a valid key is served from any
        # address; the failures are read only when the lookup fails. The throttle counts afterwards.
        try:
            return self._authenticate_digest(digest)
        except exceptions.AuthenticationFailed:
            if failures.exceeded():  # refused, not counted or logged again until the window ends
                raise self._throttled(failures) from None
            self._failed(failures, address)
            raise

    @staticmethod
    def _throttled(failures: AuthFailureLimit) -> exceptions.Throttled:
        detail = gettext("Too many failed token authentications from this address.")
        return exceptions.Throttled(failures.wait, detail)

    @staticmethod
    def _failed(failures: AuthFailureLimit, address: str) -> None:
        if failures.record():  # the failure that reaches the limit: once per window
            audit_event_record(
                actor=None,
                action="auth.api_token_failures",
                ip=address,
                details={"failures": failures.limit, "period_s": failures.period},
            )

    @staticmethod
    def _key(header: list[bytes]) -> str:
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: expected 'Token <key>'."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        if len(key) > 200:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return key

    @staticmethod
    def _authenticate_digest(digest: str):
        token = api_token_by_key_hash(digest)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Token revoked."))
        if token.is_expired(timezone.now()):
            raise exceptions.AuthenticationFailed(_("Token expired."))
        if token.user_id is not None and not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Token's user is inactive."))
        token.access = access_for_token(token)
        api_token_touch(token=token)
        user = token.user if token.user_id is not None else AgencyClient(token)
        return user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate), not 403, when no credentials were sent.
        return KEYWORD

import contextlib
import ipaddress
import re
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext

from config.errors import bad_parameter


class RussianFirstLocaleMiddleware(LocaleMiddleware):
    """Russian unless the user chose another language with the switch (cookie).

    The browser's Accept-Language is not consulted: a state portal answers in
    its official language first, whatever locale the workstation was installed with.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        super().process_request(request)


class TrustedProxyMiddleware:
    """The client's address and scheme, believed only from the portal's own reverse proxy.

    Behind the proxy (docker-compose: Caddy, terminating TLS) every request comes from the
    proxy's address; the client's is the last entry the proxy appended to X-Forwarded-For.
    When the peer is one of TRUSTED_PROXIES, REMOTE_ADDR becomes that address, so the login
    lockout (django-axes), the API's failed-authentication limit and the audit log, which all
    read REMOTE_ADDR, count each client apart. From any other peer the forwarding headers are
    dropped: a client cannot claim another address, nor HTTPS (SECURE_PROXY_SSL_HEADER).
    First in MIDDLEWARE, before SecurityMiddleware reads the scheme.
    """

    FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_REAL_IP")

    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.TRUSTED_PROXIES]

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)

    def __call__(self, request):
        meta = request.META
        if self._trusted(meta.get("REMOTE_ADDR", "")):
            # The right-most address not belonging to a trusted proxy: entries left of it
            # were written by the client and prove nothing.
            hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
            while hops and self._trusted(hops[-1]):
                hops.pop()
            if hops:
                with contextlib.suppress(ValueError):  # not an address: keep the proxy's
                    meta["REMOTE_ADDR"] = str(ipaddress.ip_address(hops[-1]))
        else:
            for header in self.FORWARDED:
                meta.pop(header, None)
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on everything a signed-in user or an API caller gets.

    Registers, exports and API answers hold personal and financial data: no browser or
    intermediate cache may keep a copy. Anonymous pages (login) and static files are untouched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            patch_cache_control(response, no_store=True, private=True, no_cache=True, max_age=0)
        return response


# C0 control characters but tab, line feed and carriage return (which a textarea sends).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A date-time whose UTC offset is beyond ±15:59: Python parses it, PostgreSQL refuses it (a 500 in
# any filter on a date-time field, such as the admin's `?<field>__gte=`).
_FAR_OFFSET = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?[+-](?:1[6-9]|[2-9]\d)(?::?\d\d)?(?=&|$)")


def _parameter_problem(raw: bytes) -> tuple[str, str] | None:
    """What is wrong with an urlencoded query string or form body, (ru, en); None when it is fine."""
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return "параметры запроса не в кодировке UTF-8", "request parameters are not UTF-8"
    if _CONTROL_CHARACTERS.search(text):
        return "управляющий символ в параметре запроса", "a control character in a request parameter"
    if _FAR_OFFSET.search(text):
        return "дата и время с невозможным часовым поясом", "a date and time with an impossible UTC offset"
    return None


class RefuseControlCharactersMiddleware:
    """Parameters with NUL or another control character, bytes that are not UTF-8, or a date-time
    PostgreSQL cannot hold are refused: 400.

    Django decodes parameters leniently (a bad byte becomes U+FFFD) and passes NUL on, which
    PostgreSQL refuses in text: every filter that reached a query was a 500. One check here covers
    every page, the admin and the API, names and values alike: the query string, and the body of
    an urlencoded form. A multipart upload's body is never read here (its fields are checked by
    their forms, its file by the intake).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # WSGI hands the query string over as Latin-1 text: its bytes, still percent-encoded.
        problem = _parameter_problem(request.META.get("QUERY_STRING", "").encode("iso-8859-1", errors="replace"))
        if problem is None and request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                body = request.body
            except (RequestDataTooBig, OSError):
                body = b""  # the view meets the same error and answers it as it always did
            problem = _parameter_problem(body)
        if problem is None:
            return self.get_response(request)
        ru, en = problem
        if request.path.startswith("/api/"):
            return JsonResponse({"status": 400, "code": "invalid", "detail": f"Invalid input: {en}."}, status=400)
        # The portal's 400 page, in the user's language (the Russian reason is the catalogue's msgid).
        return bad_parameter(request, gettext(ru))

"""Every refusal of an authenticated user is logged (DESIGN section 7), in one place."""

import logging

from auditlog.services import audit_event_record

logger = logging.getLogger("portal.access")

# What a browser or crawler requests on its own (icons, robots, manifests): never a user's refusal.
AUTOMATIC_PATHS = ("/favicon.ico", "/robots.txt", "/browserconfig.xml", "/site.webmanifest", "/manifest.json")
AUTOMATIC_PREFIXES = ("/apple-touch-icon", "/.well-known/")


def is_automatic_request(path: str) -> bool:
    return path in AUTOMATIC_PATHS or path.startswith(AUTOMATIC_PREFIXES)


class RefusalAuditMiddleware:
    """Records a 403 or 404 answered to a logged-in user as an `access.refused` audit event.

    Views stay simple: they raise PermissionDenied or Http404 and this records it.
    Anonymous requests are not recorded (they are sent to the login page or answered 401), nor are
    the requests a browser makes on its own (favicon, robots.txt, touch icons, manifests).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            response.status_code in (403, 404)
            and user is not None
            and user.is_authenticated
            and not is_automatic_request(request.path)
        ):
            details = {"path": request.path[:500], "method": request.method, "status": response.status_code}
            reason = getattr(request, "refusal_reason", None)  # set by a view that knows why
            if reason:
                details["reason"] = reason
            logger.warning(
                "refused %s %s for %s: %s", request.method, request.path, user, reason or response.status_code
            )
            audit_event_record(
                actor=user, action="access.refused", ip=request.META.get("REMOTE_ADDR", ""), details=details
            )
        return response

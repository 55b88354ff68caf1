"""One JSON error body for every API error.

    {"status": 400, "code": "invalid", "detail": "Invalid input.", "errors": {"field": ["message"]}}

`errors` appears only on 400. Bad input never becomes a 500: Django's own
request errors (body too large, bad multipart) are mapped here as well.
Refusals (403/404) of authenticated callers are logged and recorded by
auditlog.middleware.RefusalAuditMiddleware, for the API as for the pages.
"""

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is larger than allowed."
    default_code = "payload_too_large"


def _flatten(detail) -> str:
    if isinstance(detail, list):
        return "; ".join(_flatten(d) for d in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    return str(detail)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {k: v if isinstance(v, list | dict) else [v] for k, v in detail.items()}
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or "Malformed request.")
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real server error: Django's 500 handling and logging apply
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else ("invalid" if response.status_code == 400 else "error")
    else:  # Http404 / PermissionDenied converted by DRF
        code = {404: "not_found", 403: "permission_denied"}.get(response.status_code, "error")
    body = {"status": response.status_code, "code": code}
    if response.status_code == 400 and isinstance(exc, exceptions.ValidationError):
        body["detail"] = "Invalid input."
        body["errors"] = _field_errors(exc.detail)
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body["detail"] = _flatten(detail) if detail is not None else _flatten(response.data)
    response.data = body
    return response


def not_found_json(request, *args, **kwargs):
    """Unknown URL under /api/: the same body as every other API error, not an HTML page."""
    return JsonResponse({"status": 404, "code": "not_found", "detail": "Not found."}, status=404)

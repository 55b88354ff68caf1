"""OpenAPI description: the token security scheme and the error responses of every operation."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a filter, the cursor or a form field (field errors in `errors`).",
    "401": "No token, or an unknown, expired or revoked token.",
    "403": "The token lacks this endpoint's scope, or the caller may not write.",
    "404": "No such object, or an object of another operator (its existence is not revealed).",
    "413": "The upload is larger than allowed.",
    "429": (
        "Too many requests for this token, or too many failed token authentications from this address;"
        " retry after the `Retry-After` header's seconds."
    ),
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; keys are issued by SCC supervisors (`manage.py create_agency_token`).",
        }


class ApiAutoSchema(AutoSchema):
    """Adds the shared error body for 400/401/403/404/429 (and 413 on uploads) to every operation."""

    def _get_response_bodies(self, direction="response"):
        from api.serializers import ErrorSerializer

        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "401", "403", "404", "429"]
        if self.method == "POST":
            codes.append("413")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]), code
                )
        return responses

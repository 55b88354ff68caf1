"""Scopes and roles of DESIGN section 7 for the API.

Every viewset names the one scope it belongs to. Agencies and auditors read;
only operator staff write, and only filings. Objects of other operators are
not in the caller's queryset at all, so they answer 404, never 403.
"""

from rest_framework import exceptions, permissions

from api.access import NONE, OPERATOR, access_of


class ScopePermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        access = access_of(request)
        if access.role == NONE:
            raise exceptions.PermissionDenied("This account has no API role.")
        scope = view.required_scope
        if scope not in access.scopes:
            raise exceptions.PermissionDenied(f"The '{scope}' scope is needed for this endpoint.")
        if request.method in permissions.SAFE_METHODS:
            return True
        if access.role == OPERATOR and request.method in getattr(view, "operator_write_methods", ()):
            return True
        raise exceptions.PermissionDenied("Read-only access.")

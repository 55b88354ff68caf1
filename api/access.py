"""The API's side of the one access rule (operators/access.py): an Access for a token.

Computed once at authentication (api.authentication stores it on the token) so that
permissions, querysets, throttling and the audit log all read the same answer.
"""

from api.models import ApiToken
from operators.access import (  # noqa: F401 - the API's names for the one rule
    AGENCY,
    ALL_SCOPES,
    AUDITOR,
    NONE,
    OPERATOR,
    OPERATOR_SCOPES,
    Access,
    access_build,
    access_for_agency,
    access_of,
)


class AgencyClient:
    """request.user for an agency token: authenticated, no portal user behind it, no rights of its own."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    _portal_groups: frozenset = frozenset()

    def __init__(self, token: ApiToken):
        self.token = token
        self.username = f"agency:{token.name}"[:150]

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


def access_for_token(token: ApiToken) -> Access:
    """An agency token reads its scopes; a user's token is the user's role narrowed by the token."""
    if token.user_id is None:
        return access_for_agency(token=token, token_scopes=token.scopes)
    return access_build(token.user, token=token, token_scopes=token.scopes, token_operator_id=token.operator_id)

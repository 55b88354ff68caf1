"""Who is calling, in the terms of DESIGN section 7: one object per request.

Computed once (at authentication for tokens, lazily for browser sessions) so that
permissions, querysets, throttling and the audit log all read the same answer.
"""

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from api.models import ApiToken, Scope
from operators.roles import is_auditor, operator_ids_for

ALL_SCOPES = frozenset(Scope.values)
# Operator staff: their own operator, their filings, flags an auditor confirmed (section 7).
OPERATOR_SCOPES = frozenset({Scope.OPERATORS, Scope.FILINGS, Scope.FLAGS})

AGENCY = "agency"
AUDITOR = "auditor"
OPERATOR = "operator"
NONE = "none"


@dataclass(frozen=True)
class Access:
    role: str  # agency | auditor | operator | none
    scopes: frozenset = field(default_factory=frozenset)
    operator_ids: tuple[int, ...] = ()
    token: ApiToken | None = None

    @property
    def reads_everything(self) -> bool:
        return self.role in (AGENCY, AUDITOR)

    def label(self) -> dict:
        """How the audit log names the caller."""
        if self.token is None:
            return {"role": self.role, "auth": "session"}
        return {"role": self.role, "auth": "token", "token_id": self.token.pk, "token": str(self.token)}


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


def access_for_user(user: AbstractBaseUser | AnonymousUser, *, token: ApiToken | None = None) -> Access:
    """The role of a portal user, narrowed by a token's scopes and operator when there is one."""
    token_scopes = frozenset(token.scopes) if token is not None else ALL_SCOPES
    if not user.is_authenticated or not user.is_active:
        return Access(NONE, token=token)
    if is_auditor(user):
        return Access(AUDITOR, token_scopes & ALL_SCOPES, token=token)
    ids = operator_ids_for(user)
    if token is not None and token.operator_id is not None:
        ids = [token.operator_id] if token.operator_id in ids else []
    if ids:
        return Access(OPERATOR, token_scopes & OPERATOR_SCOPES, tuple(sorted(ids)), token=token)
    return Access(NONE, token=token)


def access_for_token(token: ApiToken) -> Access:
    if token.user_id is None:
        return Access(AGENCY, frozenset(token.scopes) & ALL_SCOPES, token=token)
    return access_for_user(token.user, token=token)


def access_of(request) -> Access:
    """The caller's Access (cached on the request)."""
    cached = getattr(request, "_api_access", None)
    if cached is not None:
        return cached
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        access = getattr(auth, "access", None) or access_for_token(auth)
    else:
        access = access_for_user(request.user)
    request._api_access = access
    return access

"""Who is calling, in the terms of DESIGN section 7: one object per request, for pages, admin, exports and the API.

The role predicates of operators/roles.py are the primitives; this object is what every page,
export and API view asks. Who sees which operators is decided here (`operators`, `restrict`);
the visibility of the objects of upper layers is written once beside their models and takes an
Access: flags in audits.selectors.flags_visible, filings in filings.selectors.filings_visible,
transfers in outflows.selectors.transfers_visible.

The admin asks it too: operators.backends.AccessPermissionBackend answers Django's
`user.has_perm` (which every ModelAdmin calls) with `Access.may`, from the role table in
operators/roles.py; the groups' permission rows in the database are a copy of that table, not a
second rule.

Built once per request and cached on it (`access_of`): at authentication for API tokens
(api.authentication stores it on the token), on first use for browser sessions.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from operators.roles import is_auditor, is_supervisor, operator_ids_for, role_permissions

# The API scopes (api.models.Scope holds the same strings with their labels).
OPERATORS, FILINGS, FLAGS, OUTFLOWS, TRANSFERS = "operators", "filings", "flags", "outflows", "transfers"
REFERRALS = "referrals"  # referral packages (issue 18): agencies their own, the SCC all, staff never
ALL_SCOPES = frozenset({OPERATORS, FILINGS, FLAGS, OUTFLOWS, TRANSFERS, REFERRALS})
# Operator staff: their own operator, their filings, flags an auditor confirmed (section 7).
OPERATOR_SCOPES = frozenset({OPERATORS, FILINGS, FLAGS})

AGENCY = "agency"
AUDITOR = "auditor"
OPERATOR = "operator"
NONE = "none"

REQUEST_ATTRIBUTE = "_portal_access"


@dataclass(frozen=True)
class Access:
    role: str  # agency | auditor | operator | none
    scopes: frozenset = field(default_factory=frozenset)
    operator_ids: tuple[int, ...] = ()
    token: object | None = None  # api.models.ApiToken when the caller came with one
    supervisor: bool = False

    @property
    def reads_everything(self) -> bool:
        """Agencies and the SCC (auditors, supervisors) read every operator's data."""
        return self.role in (AGENCY, AUDITOR)

    @property
    def is_auditor(self) -> bool:
        """An SCC user (auditor or supervisor), by session or by their own token."""
        return self.role == AUDITOR

    @property
    def is_operator_staff(self) -> bool:
        return self.role == OPERATOR

    @property
    def can_review(self) -> bool:
        """Review flags, start a scan or a recompute, export: the SCC only, never an agency."""
        return self.role == AUDITOR

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def sees_operator(self, operator_id: int | None) -> bool:
        return self.reads_everything or operator_id in self.operator_ids

    def restrict(self, queryset: QuerySet, *, operator_field: str = "operator") -> QuerySet:
        """What the caller may read of an operator-owned queryset: all for agencies and the SCC,
        their own operators' rows for staff, nothing for anyone else. `operator_field="self"`
        for the Operator queryset itself."""
        if self.reads_everything:
            return queryset
        if not self.operator_ids:
            return queryset.none()
        lookup = "pk__in" if operator_field == "self" else f"{operator_field}__in"
        return queryset.filter(**{lookup: self.operator_ids})

    def operators(self, queryset: QuerySet) -> QuerySet:
        """The operators the caller may see."""
        return self.restrict(queryset, operator_field="self")

    def model_permissions(self) -> frozenset[str]:
        """The model permissions ("app_label.codename", as the admin asks) of the caller: the SCC
        roles' table (operators.roles.role_permissions); operator staff, agencies and strangers none."""
        if self.role != AUDITOR:
            return frozenset()
        return role_permissions(supervisor=self.supervisor)

    def may(self, permission: str) -> bool:
        return permission in self.model_permissions()

    def require_auditor(self) -> None:
        if not self.can_review:
            raise PermissionDenied

    def label(self) -> dict:
        """How the audit log names the caller."""
        if self.token is None:
            return {"role": self.role, "auth": "session"}
        return {"role": self.role, "auth": "token", "token_id": self.token.pk, "token": str(self.token)}


def access_build(
    user: AbstractBaseUser | AnonymousUser,
    *,
    token: object | None = None,
    token_scopes: Iterable[str] | None = None,
    token_operator_id: int | None = None,
) -> Access:
    """The role of a portal user, narrowed by a token's scopes and operator when there is one."""
    scopes = ALL_SCOPES if token_scopes is None else frozenset(token_scopes) & ALL_SCOPES
    if not user.is_authenticated or not user.is_active:
        return Access(NONE, token=token)
    if is_auditor(user):
        return Access(AUDITOR, scopes, token=token, supervisor=is_supervisor(user))
    ids = operator_ids_for(user)
    if token_operator_id is not None:
        ids = [token_operator_id] if token_operator_id in ids else []
    if ids:
        return Access(OPERATOR, scopes & OPERATOR_SCOPES, tuple(sorted(ids)), token=token)
    return Access(NONE, token=token)


def access_for_agency(*, token: object, token_scopes: Iterable[str]) -> Access:
    """An agency token: no portal user behind it, reads its scopes."""
    return Access(AGENCY, frozenset(token_scopes) & ALL_SCOPES, token=token)


def access_for_user(user: AbstractBaseUser | AnonymousUser) -> Access:
    """A browser session's Access (pages, exports, the API used from the browser)."""
    return access_build(user)


def access_of(request) -> Access:
    """The caller's Access, computed once per request and cached on it. An API token's Access
    is the one its authentication computed (token.access)."""
    # The request's own attribute: DRF's Request would otherwise answer with the HttpRequest's.
    cached = vars(request).get(REQUEST_ATTRIBUTE)
    if cached is not None:
        return cached
    access = getattr(getattr(request, "auth", None), "access", None)
    if not isinstance(access, Access):
        access = access_for_user(request.user)
    setattr(request, REQUEST_ATTRIBUTE, access)
    return access

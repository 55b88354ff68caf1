"""Writes of the api app: issuing and revoking tokens (admin, command line)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from api.models import ApiToken, Scope
from audits.models import Agency
from operators.models import Operator, OperatorMembership

KEY_PREFIX = "cop_"
DEFAULT_LIFETIME = timedelta(days=365)
# Writing last_used_at on every request would add a write to every read;
# once a minute is precise enough for "is this token still in use?".
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def scopes_clean(scopes) -> list[str]:
    """Scopes as stored: known names only, deduplicated, in the catalogue's order."""
    if isinstance(scopes, str):
        scopes = [s for s in (p.strip() for p in scopes.split(",")) if s]
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(Scope.values)}")
    if not scopes:
        raise ValidationError("at least one scope is needed")
    return [s for s in Scope.values if s in set(scopes)]


@dataclass
class IssuedToken:
    token: ApiToken
    key: str  # shown once; only its hash is stored


def api_token_create(
    *,
    name: str,
    scopes,
    created_by: AbstractBaseUser | None = None,
    user: AbstractBaseUser | None = None,
    operator: Operator | None = None,
    expires_at: datetime | None = None,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
    agency: str = "",
) -> IssuedToken:
    """Issue a token; the plain key is returned once and never stored.

    An operator token needs a user who is staff of that operator. Without
    ``expires_at`` the token expires after ``lifetime`` (None: never).
    """
    if not name.strip():
        raise ValidationError("a token needs a name")
    scopes = scopes_clean(scopes)
    if operator is not None:
        if user is None:
            raise ValidationError("an operator token must name the staff user it acts for")
        if not OperatorMembership.objects.filter(user=user, operator=operator).exists():
            raise ValidationError("the user is not staff of this operator")
    if agency and agency not in Agency.values:
        raise ValidationError(f"unknown agency {agency!r}; known: {', '.join(Agency.values)}")
    if agency and user is not None:
        raise ValidationError("only an agency token (no user) names an agency")
    if expires_at is None and lifetime is not None:
        expires_at = timezone.now() + lifetime
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        prefix=key[:12],
        key_hash=key_hash(key),
        scopes=scopes,
        user=user,
        operator=operator,
        agency=agency,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
        expires_at=expires_at,
    )
    return IssuedToken(token=token, key=key)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: the first revocation time is kept)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record use, at most once per LAST_USED_RESOLUTION (no write on most requests)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)

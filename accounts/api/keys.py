"""Making and reading API keys.

A key is ``a24_`` followed by 40 URL-safe random characters (240 bits). Only its SHA-256
hex digest is stored: a slow password hash buys nothing for a secret this long and would
cost every API request. The first 12 characters are kept in clear as ``prefix`` so people
can tell their keys apart in lists and logs.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db.models.functions import Now

from accounts.models import ApiKey, Organization, User

KEY_PREFIX = "a24_"
PREFIX_LENGTH = 12


def hash_api_key(key: str) -> str:
    """The stored form of ``key``: lower-case SHA-256 hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(key: str) -> bool:
    """Cheap shape check before any database work (and before hashing attacker input)."""
    return key.startswith(KEY_PREFIX) and 20 <= len(key) <= 100 and key.isascii()


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    secret: str  # the full key: shown once, never stored


def create_api_key(
    organization: Organization,
    name: str,
    *,
    scope: str = ApiKey.Scope.READ,
    created_by: User | None = None,
) -> NewApiKey:
    """Make a key for ``organization``; the caller shows ``secret`` once and forgets it."""
    secret = KEY_PREFIX + secrets.token_urlsafe(30)
    api_key = ApiKey(
        organization=organization,
        name=name,
        scope=scope,
        created_by=created_by,
        prefix=secret[:PREFIX_LENGTH],
        key_hash=hash_api_key(secret),
    )
    api_key.full_clean(exclude=["organization", "created_by"])
    api_key.save()
    return NewApiKey(api_key, secret)


def revoke_api_key(api_key: ApiKey) -> bool:
    """Revoke ``api_key`` from now on; False if it already was (revoking twice is harmless).

    One conditional UPDATE, so two admins revoking at once record one revocation time.
    """
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=Now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)

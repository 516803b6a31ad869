"""Opaque credentials: how they are made, recognised and hashed at rest."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ACCESS_TOKEN_PREFIX = "mcp_token_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "mcp_refresh_"  # noqa: S105
AUTH_CODE_PREFIX = "mcp_code_"
CLIENT_SECRET_PREFIX = "mcp_secret_"  # noqa: S105
API_KEY_PREFIX = "sl_"
SESSION_PREFIX = "sls_"

# 32 random bytes: 256 bits, as the contract requires of every credential.
_ENTROPY_BYTES = 32


def new_credential(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(_ENTROPY_BYTES)


def hash_credential(value: str) -> str:
    """SHA-256 of a high-entropy credential. A slow hash adds nothing at 256 bits and would slow every request."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def credential_matches(value: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_credential(value), stored_hash)

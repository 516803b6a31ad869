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
# Every kind of credential we issue: the log redactor masks anything that starts with one of these.
CREDENTIAL_PREFIXES = (
    ACCESS_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    AUTH_CODE_PREFIX,
    CLIENT_SECRET_PREFIX,
    API_KEY_PREFIX,
    SESSION_PREFIX,
)

# 32 random bytes: 256 bits, as the contract requires of every credential.
_ENTROPY_BYTES = 32


def new_credential(prefix: str) -> str:
    if prefix not in CREDENTIAL_PREFIXES:  # a new kind of credential must be one the logs know to mask
        raise ValueError(f"{prefix!r} is not in CREDENTIAL_PREFIXES")
    return prefix + secrets.token_urlsafe(_ENTROPY_BYTES)


def hash_credential(value: str) -> str:
    """SHA-256 of a high-entropy credential. A slow hash adds nothing at 256 bits and would slow every request."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def credential_matches(value: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_credential(value), stored_hash)

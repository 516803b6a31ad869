"""private_key_jwt client authentication (RFC 7523 2.2 and 3, RFC 7521 4.2): a signed JWT instead of a secret.

The client signs a short-lived JWT with its private key; we verify it with the keys the client published
(inline `jwks` or `jwks_uri`), with PyJWT doing the cryptography. What we insist on, beyond a valid signature:
an algorithm from ALLOWED_ALGORITHMS with the algorithm bound to the key (never the header's word alone),
iss = sub = client_id, aud naming this authorization server, exp present and at most MAX_LIFETIME after iat,
and a jti that is used once: recorded in PostgreSQL until the assertion expires, so a replay fails on every
process sharing the database.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.auth.jwks import ALLOWED_ALGORITHMS, JwksCache, JwksError, matching_keys, signing_keys
from app.config import Settings
from app.db import Database, Row
from app.db.tables import oauth_client_assertions

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PRIVATE_KEY_JWT = "private_key_jwt"
MAX_ASSERTION_LENGTH = 8192
MAX_LIFETIME = 600  # seconds from iat (or from now, without iat) to exp
CLOCK_SKEW = 60  # seconds of clock difference tolerated on exp, nbf and iat
MAX_JTI_LENGTH = 256


class ClientAssertionError(Exception):
    """The client assertion is not acceptable; the message says why, in one line a developer can act on."""


def _header(assertion: str) -> dict[str, Any]:
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise ClientAssertionError(f"client_assertion is longer than {MAX_ASSERTION_LENGTH} characters")
    try:
        return jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise ClientAssertionError(f"client_assertion is not an acceptable compact JWS ({exc})") from None


def assertion_subject(assertion: str) -> str:
    """The client_id an assertion claims to come from (its unverified `sub`, else `iss`), to find the client.
    Nothing is trusted until verify_client_assertion has checked the signature against that client's keys."""
    _header(assertion)
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ClientAssertionError("client_assertion's payload is not a JSON object") from None
    subject = claims.get("sub") or claims.get("iss")
    if not isinstance(subject, str) or not subject:
        raise ClientAssertionError("client_assertion must carry the client_id in iss and sub")
    return subject


async def _client_keys(client: Row, settings: Settings, cache: JwksCache, *, refresh: bool) -> list[dict[str, Any]]:
    try:
        if client["jwks"] is not None:
            return signing_keys(client["jwks"], strict=False)
        if client["jwks_uri"]:
            return await cache.keys(client["jwks_uri"], settings, refresh=refresh)
    except JwksError as exc:
        raise ClientAssertionError(f"the client's keys cannot be used: {exc}") from None
    raise ClientAssertionError("the client has no registered keys (jwks or jwks_uri)")


def _decode(assertion: str, key: jwt.PyJWK, alg: str, client_id: str, audiences: list[str]) -> dict[str, Any]:
    try:
        return jwt.decode(
            assertion,
            key=key,
            algorithms=[alg],
            audience=audiences,
            issuer=client_id,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise ClientAssertionError(f"client_assertion lacks the {exc.claim} claim") from None
    except jwt.ExpiredSignatureError:
        raise ClientAssertionError("client_assertion has expired (exp)") from None
    except jwt.ImmatureSignatureError as exc:
        which = "iat" if "iat" in str(exc) else "nbf"
        raise ClientAssertionError(f"client_assertion is not valid yet ({which} is in the future)") from None
    except jwt.InvalidAudienceError:
        raise ClientAssertionError(
            f"client_assertion's aud must be this server: {audiences[0]} or {audiences[1]}"
        ) from None
    except jwt.InvalidIssuerError:
        raise ClientAssertionError("client_assertion's iss must be the client_id") from None


async def verify_client_assertion(
    db: Database, settings: Settings, client: Row, assertion: str, *, audiences: list[str], cache: JwksCache
) -> None:
    """Check the assertion against the client's keys and the RFC 7523 claims, then spend its jti."""
    header = _header(assertion)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise ClientAssertionError(
            f"client_assertion's alg {alg!r} is not accepted; use one of {', '.join(ALLOWED_ALGORITHMS)}"
        )
    if "crit" in header:
        raise ClientAssertionError("client_assertion must not carry critical header extensions (crit)")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ClientAssertionError("client_assertion's kid must be a string")
    client_id = client["client_id"]
    claims = None
    for refresh in (False, True):
        if refresh and not client["jwks_uri"]:
            break
        candidates = matching_keys(await _client_keys(client, settings, cache, refresh=refresh), alg, kid)
        for key in candidates:
            try:
                claims = _decode(assertion, key, alg, client_id, audiences)
                break
            except jwt.InvalidSignatureError:
                continue
            except (jwt.PyJWTError, ValueError) as exc:  # malformed claims, a key PyJWT refuses, ...
                raise ClientAssertionError(f"client_assertion cannot be verified ({type(exc).__name__})") from None
        # A named kid that we know and whose signature fails is not a rotation: do not fetch again for it.
        if claims is not None or (kid is not None and candidates):
            break
    if claims is None:
        if kid is not None and not candidates:
            raise ClientAssertionError(f"no key with kid {kid!r} for {alg} in the client's JWK set")
        raise ClientAssertionError("client_assertion's signature does not verify with the client's keys")
    _check_claims(claims, client_id)
    await _spend_jti(db, client_id, claims)


def _check_claims(claims: dict[str, Any], client_id: str) -> None:
    if claims.get("sub") != client_id:
        raise ClientAssertionError("client_assertion's sub must be the client_id")
    exp = int(claims["exp"])
    if "iat" in claims:
        if exp - int(claims["iat"]) > MAX_LIFETIME:
            raise ClientAssertionError(f"client_assertion may live at most {MAX_LIFETIME} seconds (exp - iat)")
    elif exp - time.time() > MAX_LIFETIME + CLOCK_SKEW:
        raise ClientAssertionError(f"client_assertion's exp is more than {MAX_LIFETIME} seconds away")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise ClientAssertionError(f"client_assertion's jti must be a string of 1 to {MAX_JTI_LENGTH} characters")


async def _spend_jti(db: Database, client_id: str, claims: dict[str, Any]) -> None:
    """Record the jti until the assertion expires (plus the skew); a second use anywhere is refused.
    A row left over from an assertion that has expired (cleanup not run yet) does not block a new one."""
    jti_hash = hashlib.sha256(claims["jti"].encode("utf-8")).hexdigest()
    expires = sa.func.to_timestamp(int(claims["exp"]) + CLOCK_SKEW)
    stmt = pg_insert(oauth_client_assertions).values(client_id=client_id, jti_hash=jti_hash, expires_at=expires)
    inserted = await db.fetch_value(
        stmt.on_conflict_do_update(
            index_elements=[oauth_client_assertions.c.client_id, oauth_client_assertions.c.jti_hash],
            set_={"expires_at": stmt.excluded.expires_at},
            where=oauth_client_assertions.c.expires_at < sa.func.now(),
        ).returning(oauth_client_assertions.c.id)
    )
    if inserted is None:
        raise ClientAssertionError("client_assertion's jti was already used; sign a new assertion for each request")

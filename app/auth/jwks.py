"""A client's public signing keys (RFC 7517 JWK sets) for private_key_jwt: which keys we accept, and a cache.

Only asymmetric signature keys of the algorithms in ALLOWED_ALGORITHMS are ever used: a JWK set is published,
so a symmetric ("oct") key in it is known to everyone, and a private member in it means the client leaked its
key. Keys come from the client's registration (inline `jwks`) or its `jwks_uri`, fetched through the same
SSRF-guarded fetcher as metadata documents and kept per process for as long as its Cache-Control says.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt

from app.auth.public_fetch import PublicFetchError, fetch_public_json
from app.config import Settings

# RFC 7518 names. Never "none", never HMAC: the "secret" of an HMAC key would be the published public key.
ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
_KEY_ALGORITHMS = {"RSA": ("RS256", "PS256"), "EC": ("ES256",), "OKP": ("EdDSA",)}
_CURVES = {"EC": "P-256", "OKP": "Ed25519"}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096  # bigger moduli make every verification slower for no gain
MAX_KEYS = 20
MAX_KID_LENGTH = 200
MAX_JWKS_BYTES = 32 * 1024
# An unknown kid may mean the client rotated its keys: fetch again, but not more often than this per URL, so
# assertions with made-up kids cannot turn us into a request generator against the client's host.
REFRESH_INTERVAL = 2.0
CACHE_ENTRIES = 512


class JwksError(ValueError):
    """The JWK set or a key in it cannot be used; the message says why, in one line."""


def _rsa_bits(n: Any) -> int:
    if not isinstance(n, str) or len(n) > 2 * MAX_RSA_BITS:
        raise JwksError("an RSA key's n must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError):
        raise JwksError("an RSA key's n is not base64url") from None
    return int.from_bytes(raw, "big").bit_length()


def check_key(key: Any) -> dict[str, Any]:
    """The key as given if it is a public signing key we accept; JwksError saying why not."""
    if not isinstance(key, dict):
        raise JwksError("every key must be a JSON object")
    kty = key.get("kty")
    if kty not in _KEY_ALGORITHMS:
        raise JwksError(f"key type {kty!r} is not accepted; use RSA, EC (P-256) or OKP (Ed25519)")
    if _PRIVATE_MEMBERS & key.keys():
        raise JwksError("a published key must not contain private or symmetric key material")
    if key.get("use", "sig") != "sig":
        raise JwksError("only signing keys (use sig) are accepted")
    ops = key.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise JwksError("a key's key_ops must include verify")
    alg = key.get("alg")
    if alg is not None and alg not in _KEY_ALGORITHMS[kty]:
        raise JwksError(f"a {kty} key with alg {alg!r} is not accepted; allowed: {', '.join(_KEY_ALGORITHMS[kty])}")
    kid = key.get("kid")
    if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
        raise JwksError(f"a key's kid must be a string of at most {MAX_KID_LENGTH} characters")
    if kty in _CURVES and key.get("crv") != _CURVES[kty]:
        raise JwksError(f"a {kty} key must use the curve {_CURVES[kty]}")
    if kty == "RSA" and not MIN_RSA_BITS <= _rsa_bits(key.get("n")) <= MAX_RSA_BITS:
        raise JwksError(f"an RSA key must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")
    try:
        jwt.PyJWK(key, algorithm=alg or _KEY_ALGORITHMS[kty][0])
    except (jwt.PyJWTError, ValueError, TypeError):
        raise JwksError(f"a {kty} key is malformed") from None
    return key


def signing_keys(jwks: Any, *, strict: bool) -> list[dict[str, Any]]:
    """The usable keys of a JWK set. `strict` (a set we are asked to register) refuses the set on any bad key;
    otherwise (a set the client publishes, which may hold encryption keys too) unusable keys are skipped."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise JwksError('a JWK set must be a JSON object with a "keys" list')
    if len(jwks["keys"]) > MAX_KEYS:
        raise JwksError(f"a JWK set may hold at most {MAX_KEYS} keys")
    keys: list[dict[str, Any]] = []
    for key in jwks["keys"]:
        try:
            keys.append(check_key(key))
        except JwksError:
            if strict:
                raise
    if not keys:
        raise JwksError("the JWK set holds no usable signing key (RSA 2048-4096, EC P-256 or Ed25519)")
    return keys


def matching_keys(keys: list[dict[str, Any]], alg: str, kid: str | None) -> list[jwt.PyJWK]:
    """The keys that may have signed a JWS with this header: right type for `alg`, same kid when one is named."""
    found = []
    for key in keys:
        if alg not in _KEY_ALGORITHMS.get(key.get("kty", ""), ()) or key.get("alg", alg) != alg:
            continue
        if kid is not None and key.get("kid") != kid:
            continue
        found.append(jwt.PyJWK(key, algorithm=alg))  # the algorithm is bound to the key, not read from the token
    return found


@dataclass
class _Entry:
    keys: list[dict[str, Any]]
    expires: float
    fetched: float


class JwksCache:
    """Fetched JWK sets by URL, per process; bounded, oldest-first eviction."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries

    async def keys(self, uri: str, settings: Settings, *, refresh: bool = False) -> list[dict[str, Any]]:
        """The signing keys at `uri`: cached while fresh; `refresh` fetches again unless it was just fetched."""
        now = time.monotonic()
        entry = self._entries.get(uri)
        if entry is not None and ((entry.expires > now and not refresh) or now - entry.fetched < REFRESH_INTERVAL):
            return entry.keys
        try:
            document, seconds = await fetch_public_json(
                uri, settings, what="client's JWK set (jwks_uri)", max_bytes=MAX_JWKS_BYTES
            )
            keys = signing_keys(document, strict=False)
        except (PublicFetchError, JwksError) as exc:
            raise JwksError(str(exc)) from None
        self._entries[uri] = _Entry(keys, time.monotonic() + seconds, time.monotonic())
        self._entries.move_to_end(uri)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return keys

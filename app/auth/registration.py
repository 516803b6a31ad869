"""RFC 7591 dynamic client registration: validate the requested metadata, register, describe the result."""

from __future__ import annotations

from typing import Any

from app.audit import Actor
from app.auth.clients import (
    AUTH_METHODS,
    KEY_METHOD,
    ClientError,
    register_client,
    validate_client_keys,
    validate_grant_types,
    validate_name,
    validate_redirect_uris,
)
from app.auth.jwks import ALLOWED_ALGORITHMS
from app.auth.oauth import OAuthError, granted_scope
from app.auth.redirects import is_web_url
from app.config import Settings
from app.db import Database, Row

DEFAULT_NAME = "Unnamed client"
MAX_FIELD_LENGTH = 2000  # longer descriptive values are dropped, not stored and echoed
# Optional descriptive fields kept and echoed back (RFC 7591 2); strings only.
DESCRIPTIVE_FIELDS = (
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
    "application_type",
)


URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


def _metadata_error(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


def parse_registration(body: Any, *, allow_loopback_jwks_uri: bool = False) -> dict[str, Any]:
    """The register_client arguments for a registration request, or invalid_redirect_uri/invalid_client_metadata."""
    if not isinstance(body, dict):
        raise _metadata_error("The registration request must be a JSON object")
    try:
        uris = validate_redirect_uris(body.get("redirect_uris"))
    except ClientError as exc:
        raise OAuthError("invalid_redirect_uri", str(exc)) from None
    # RFC 7591 2: the default is client_secret_basic; ChatGPT and Claude ask for none or client_secret_post.
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise _metadata_error(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    try:
        jwks_uri, jwks = validate_client_keys(
            method, body.get("jwks_uri"), body.get("jwks"), allow_loopback=allow_loopback_jwks_uri
        )
    except ClientError as exc:
        raise _metadata_error(str(exc)) from None
    alg = body.get("token_endpoint_auth_signing_alg")
    if method == KEY_METHOD and alg is not None and alg not in ALLOWED_ALGORITHMS:
        raise _metadata_error(f"token_endpoint_auth_signing_alg must be one of {', '.join(ALLOWED_ALGORITHMS)}")
    response_types = body.get("response_types", ["code"])
    if (
        not isinstance(response_types, list)
        or not response_types
        or not all(isinstance(t, str) and t == "code" for t in response_types)
    ):
        raise _metadata_error("response_types may only contain code")
    name = body.get("client_name")
    try:
        grant_types = validate_grant_types(body.get("grant_types"))
        name = validate_name(name) if name not in (None, "") else DEFAULT_NAME
    except ClientError as exc:
        raise _metadata_error(str(exc)) from None
    scope = body.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise _metadata_error("scope must be a space-separated string")
    for field in URL_FIELDS:
        if body.get(field) is not None and not is_web_url(body[field]):
            raise _metadata_error(f"{field} must be an http or https URL")
    extra = {
        k: body[k] for k in DESCRIPTIVE_FIELDS if isinstance(body.get(k), str) and len(body[k]) <= MAX_FIELD_LENGTH
    }
    contacts = body.get("contacts")
    if isinstance(contacts, list) and all(isinstance(c, str) and len(c) <= MAX_FIELD_LENGTH for c in contacts):
        extra["contacts"] = contacts[:10]
    return {
        "name": name,
        "redirect_uris": uris,
        "token_endpoint_auth_method": method,
        "grant_types": grant_types,
        "metadata": extra,
        "scope": granted_scope(scope),
        "jwks_uri": jwks_uri,
        "jwks": jwks,
    }


def registration_response(row: Row, secret: str | None) -> dict[str, Any]:
    """The client information response (RFC 7591 3.2.1): what was granted, which may differ from what was asked."""
    answer: dict[str, Any] = {
        "client_id": row["client_id"],
        "client_id_issued_at": int(row["created_at"].timestamp()),
        "client_name": row["name"],
        "redirect_uris": row["redirect_uris"],
        "token_endpoint_auth_method": row["token_endpoint_auth_method"],
        "grant_types": row["grant_types"],
        "response_types": ["code"],
        "scope": row["scope"],
        **row["metadata"],
        "client_secret_expires_at": 0,  # secrets do not expire; operators rotate them
    }
    if secret is not None:
        answer["client_secret"] = secret
    for key in ("jwks_uri", "jwks"):
        if row.get(key) is not None:
            answer[key] = row[key]
    return answer


async def register_dynamic_client(db: Database, settings: Settings, body: Any, *, ip: str | None) -> dict[str, Any]:
    """Register a client from an RFC 7591 request; returns the client information response."""
    args = parse_registration(body, allow_loopback_jwks_uri=settings.client_metadata_allow_loopback)
    args.pop("scope")
    row, secret = await register_client(
        db,
        **args,
        source="dynamic",
        actor=Actor("anonymous", ip=ip),
        allow_loopback_jwks_uri=settings.client_metadata_allow_loopback,
    )
    return registration_response(row, secret)

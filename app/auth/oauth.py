"""The OAuth 2.1 authorization server's rules: authorization requests, codes, tokens, refresh, revocation.

Standards followed: RFC 6749 (with the OAuth 2.1 and RFC 9700 hardening: PKCE S256 for everyone, exact
redirect URIs, single-use codes, rotating refresh tokens), RFC 7636, RFC 7009, RFC 7662, RFC 8707, RFC 9207.
No Tornado here: handlers pass in plain parameter dicts and map OAuthError to responses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode

import sqlalchemy as sa

from app import audit
from app.audit import Actor
from app.auth import revocations
from app.auth.client_assertion import (
    ASSERTION_TYPE,
    ClientAssertionError,
    assertion_subject,
    verify_client_assertion,
)
from app.auth.client_metadata import ClientMetadataError, is_metadata_client_id, resolve_metadata_client
from app.auth.clients import KEY_METHOD, PUBLIC_METHOD, get_client, verify_client_secret
from app.auth.grants import revoke_grants_where
from app.auth.jwks import JwksCache
from app.auth.redirects import ascii_url, redirect_uri_matches
from app.auth.resources import canonical_resource, is_our_resource
from app.auth.secrets import (
    ACCESS_TOKEN_PREFIX,
    AUTH_CODE_PREFIX,
    REFRESH_TOKEN_PREFIX,
    hash_credential,
    new_credential,
)
from app.config import Settings
from app.db import Connection, Database, Row
from app.db.expressions import interval
from app.db.tables import oauth_authorization_codes, oauth_clients, oauth_grants, oauth_tokens, users

SCOPE_MCP = "mcp"
SUPPORTED_SCOPES = frozenset({SCOPE_MCP})
_PKCE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
BASIC_CHALLENGE = 'Basic realm="secondlayer", charset="UTF-8"'


class OAuthError(Exception):
    """An RFC 6749 error: `error` code, a description a developer can act on, and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}


def invalid_client(description: str) -> OAuthError:
    # RFC 6749 5.2: 401 with a challenge for the scheme clients may use.
    return OAuthError("invalid_client", description, 401, {"WWW-Authenticate": BASIC_CHALLENGE})


class AuthorizePageError(Exception):
    """The authorization request cannot be answered by redirect (bad client or redirect URI): show a page.

    `reason` says which of these it is, so the page can tell the person what to do: `invalid_request`,
    `client_metadata`, `unknown_client`, `client_disabled`, `unregistered_redirect_uri`.
    """

    def __init__(self, message: str, status: int = 400, reason: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class AuthorizeRedirectError(Exception):
    """An error that goes back to the client as an RFC 6749 4.1.2.1 error redirect."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str) -> None:
        super().__init__(description)
        self.redirect_uri = redirect_uri
        self.state = state
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request, ready for consent."""

    client: Row
    redirect_uri: str
    redirect_uri_given: bool
    state: str | None
    code_challenge: str
    scope: str
    resource: str | None

    def form_fields(self) -> dict[str, str]:
        """The parameters the consent form carries back on POST (re-validated there)."""
        fields = {
            "response_type": "code",
            "client_id": self.client["client_id"],
            "scope": self.scope,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.redirect_uri_given:
            fields["redirect_uri"] = self.redirect_uri
        if self.state is not None:
            fields["state"] = self.state
        if self.resource is not None:
            fields["resource"] = self.resource
        return fields


def _single(params: Mapping[str, list[str]], name: str) -> str | None:
    """One value of a parameter; RFC 6749 3.1 forbids repeating parameters."""
    values = params.get(name) or []
    if len(values) > 1:
        raise ValueError(name)
    return values[0] if values else None


def granted_scope(requested: str | None) -> str:
    """A missing or empty scope means mcp; unknown scopes are dropped, never granted."""
    asked = (requested or "").split()
    known = [s for s in dict.fromkeys(asked) if s in SUPPORTED_SCOPES]
    return " ".join(known) if known else SCOPE_MCP


async def lookup_client(
    db: Database, settings: Settings, client_id: str, *, fresh: bool, ip: str | None = None
) -> Row | None:
    """An enabled-or-not client by id; a URL client_id is resolved through its metadata document."""
    if is_metadata_client_id(client_id):
        return await resolve_metadata_client(db, settings, client_id, fresh=fresh, ip=ip)
    return await get_client(db, client_id)


async def validate_authorization_request(
    db: Database, settings: Settings, params: Mapping[str, list[str]], ip: str | None = None
) -> AuthorizationRequest:
    """Check client and redirect URI first (page errors), then everything else (redirect errors)."""
    try:
        client_id = _single(params, "client_id")
        given_redirect = _single(params, "redirect_uri")
    except ValueError as exc:
        raise AuthorizePageError(f"The {exc} parameter is repeated") from None
    if not client_id:
        raise AuthorizePageError("The request has no client_id")
    try:
        client = await lookup_client(db, settings, client_id, fresh=True, ip=ip)
    except ClientMetadataError as exc:
        raise AuthorizePageError(
            f"The client's metadata document cannot be used: {exc}", reason="client_metadata"
        ) from None
    if client is None:
        raise AuthorizePageError("Unknown client: no client is registered with this client_id", reason="unknown_client")
    if client["disabled"]:
        raise AuthorizePageError("This client has been disabled by an operator", 403, "client_disabled")
    if given_redirect is not None:
        if not redirect_uri_matches(client["redirect_uris"], given_redirect):
            raise AuthorizePageError(
                "The redirect_uri is not registered for this client", reason="unregistered_redirect_uri"
            )
        redirect_uri = given_redirect
    elif len(client["redirect_uris"]) == 1:
        redirect_uri = client["redirect_uris"][0]
    else:
        raise AuthorizePageError("The request has no redirect_uri and the client has several registered")

    # From here on the redirect URI is trusted, so errors go back to the client (RFC 6749 4.1.2.1).
    state_values = params.get("state") or []
    state = state_values[0] if len(state_values) == 1 else None

    def fail(error: str, description: str) -> AuthorizeRedirectError:
        return AuthorizeRedirectError(redirect_uri, state, error, description)

    if len(state_values) > 1:
        raise fail("invalid_request", "The state parameter is repeated")
    try:
        response_type = _single(params, "response_type")
        challenge = _single(params, "code_challenge")
        method = _single(params, "code_challenge_method")
        scope = _single(params, "scope")
    except ValueError as exc:
        raise fail("invalid_request", f"The {exc} parameter is repeated") from None
    if not response_type:
        raise fail("invalid_request", "response_type is required; use code")
    if response_type != "code":
        raise fail("unsupported_response_type", "Only response_type=code is supported")
    if "authorization_code" not in client["grant_types"]:
        raise fail("unauthorized_client", "This client is not allowed the authorization_code grant")
    if not challenge:
        raise fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
    if method != "S256":
        # RFC 9700 2.1.1: plain offers no protection if the request leaks; an absent method means plain.
        raise fail("invalid_request", "code_challenge_method must be S256 (plain is not supported)")
    if not _PKCE.match(challenge):
        raise fail("invalid_request", "code_challenge must be 43-128 characters of [A-Za-z0-9-._~]")
    resources = list(dict.fromkeys(params.get("resource") or []))
    resource = None
    if len(resources) > 1:
        raise fail("invalid_target", "Ask for one resource per authorization request")
    if resources:
        if not is_our_resource(resources[0], settings.public_url):
            raise fail("invalid_target", f"The resource must be this server's MCP URL, {settings.public_url}/mcp")
        resource = canonical_resource(resources[0])
    return AuthorizationRequest(
        client, redirect_uri, given_redirect is not None, state, challenge, granted_scope(scope), resource
    )


def authorization_response_url(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """The redirect URI (in the ASCII form a Location header carries) with response parameters appended to any
    query it already has."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    target = ascii_url(redirect_uri)
    return f"{target}{'&' if '?' in target else '?'}{query}"


async def create_authorization_code(
    db: Database, settings: Settings, request: AuthorizationRequest, user: Row, *, ip: str | None
) -> str:
    """Record the user's consent as a single-use code; returns the code (stored only as a hash)."""
    code = new_credential(AUTH_CODE_PREFIX)
    async with db.transaction() as conn:
        await conn.execute(
            oauth_authorization_codes.insert().values(
                code_hash=hash_credential(code),
                client_pk=request.client["id"],
                user_id=user["id"],
                redirect_uri=request.redirect_uri,
                redirect_uri_given=request.redirect_uri_given,
                code_challenge=request.code_challenge,
                code_challenge_method="S256",
                scope=request.scope,
                resource=request.resource,
                expires_at=sa.func.now() + interval(settings.auth_code_ttl),
            )
        )
        await audit.record(
            conn,
            "oauth.consent",
            actor=Actor(user["email"], user["id"], ip),
            target_type="client",
            target_id=request.client["client_id"],
            details={"scope": request.scope, "resource": request.resource, "redirect_uri": request.redirect_uri},
        )
    return code


# ---- client authentication at the token, revocation and introspection endpoints ---------------------------


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    secret: str | None
    method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    assertion: str | None = None


def _assertion_credentials(authorization: str | None, params: Mapping[str, str]) -> ClientCredentials:
    """RFC 7523 2.2: client_assertion_type jwt-bearer plus client_assertion, and no other credential."""
    if params.get("client_assertion_type") != ASSERTION_TYPE:
        raise invalid_client(f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = params.get("client_assertion")
    if not assertion:
        raise invalid_client("client_assertion is required with client_assertion_type")
    if params.get("client_secret") or (authorization and authorization.split(" ", 1)[0].lower() == "basic"):
        # RFC 6749 2.3: a client uses one authentication method per request.
        raise invalid_client("Use one client authentication method: a client_assertion, or a secret, not both")
    try:
        subject = assertion_subject(assertion)
    except ClientAssertionError as exc:
        raise invalid_client(str(exc)) from None
    body_id = params.get("client_id") or None
    if body_id is not None and body_id != subject:
        raise invalid_client("client_id differs from the client_assertion's sub")
    return ClientCredentials(subject, None, KEY_METHOD, assertion)


def client_credentials(authorization: str | None, params: Mapping[str, str]) -> ClientCredentials | None:
    """What the client presented, from HTTP Basic, the body (RFC 6749 2.3.1) or a JWT assertion (RFC 7523);
    None when nothing was sent."""
    if "client_assertion" in params or "client_assertion_type" in params:
        return _assertion_credentials(authorization, params)
    body_id = params.get("client_id") or None
    body_secret = params.get("client_secret") or None  # some public clients send an empty secret
    if authorization and authorization.split(" ", 1)[0].lower() == "basic":
        if body_secret is not None:
            raise OAuthError("invalid_request", "Use one client authentication method, not Basic and a body secret")
        try:
            decoded = base64.b64decode(authorization.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
            raw_id, raw_secret = decoded.split(":", 1)
        except (IndexError, ValueError):
            raise invalid_client("The Basic authorization header is malformed") from None
        # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if body_id is not None and body_id != client_id:
            raise invalid_client("The client_id in the body differs from the one in the Authorization header")
        if not secret:
            return ClientCredentials(client_id, None, "none")  # "client_id:" is how some public clients send it
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if body_id is None:
        if body_secret is not None:
            raise invalid_client("client_secret was sent without client_id")
        return None
    if body_secret is not None:
        return ClientCredentials(body_id, body_secret, "client_secret_post")
    return ClientCredentials(body_id, None, "none")


def assertion_audiences(settings: Settings, endpoint_path: str) -> list[str]:
    """What a client assertion's aud may name: our token endpoint, our issuer, or the endpoint it is sent to."""
    return list(dict.fromkeys([f"{settings.issuer}/oauth/token", settings.issuer, f"{settings.issuer}{endpoint_path}"]))


async def authenticate_client(
    db: Database,
    settings: Settings,
    credentials: ClientCredentials | None,
    ip: str | None = None,
    *,
    endpoint_path: str = "/oauth/token",
    jwks_cache: JwksCache,
) -> Row:
    """The client, authenticated with the method it registered, or with a stronger one: a client that has
    published keys may always sign an assertion; one registered for keys can never fall back to less.
    invalid_client (401) otherwise."""
    if credentials is None:
        raise invalid_client("Client authentication is required (client_id, and a secret for confidential clients)")
    try:
        client = await lookup_client(db, settings, credentials.client_id, fresh=False, ip=ip)
    except ClientMetadataError as exc:
        raise invalid_client(f"The client's metadata document cannot be used: {exc}") from None
    if client is None or client["disabled"]:
        raise invalid_client("Unknown or disabled client")
    registered = client["token_endpoint_auth_method"]
    if credentials.method == KEY_METHOD and credentials.assertion is not None:
        if client["jwks_uri"] is None and client["jwks"] is None:
            raise invalid_client(f"This client has no registered keys; it must authenticate with {registered}")
        try:
            await verify_client_assertion(
                db,
                settings,
                client,
                credentials.assertion,
                audiences=assertion_audiences(settings, endpoint_path),
                cache=jwks_cache,
            )
        except ClientAssertionError as exc:
            raise invalid_client(f"The client assertion is not accepted: {exc}") from None
        return client
    if credentials.method != registered:
        raise invalid_client(f"This client must authenticate with {registered}, not {credentials.method}")
    if registered != PUBLIC_METHOD and not await verify_client_secret(db, client["id"], credentials.secret or ""):
        raise invalid_client("The client secret is wrong")
    return client


# ---- tokens ----------------------------------------------------------------------------------------------


def _verifier_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return hmac.compare_digest(computed, challenge)


def _audience(params: Mapping[str, str], bound: str | None, settings: Settings) -> str:
    """The audience for new tokens: the requested resource (ours, within what was granted), the bound one, or,
    when the client named none, this server (PUBLIC_URL), never "any": the database may serve other servers."""
    requested = params.get("resource")
    if not requested:
        return bound or settings.public_url
    if not is_our_resource(requested, settings.public_url):
        raise OAuthError("invalid_target", f"The resource must be this server's MCP URL, {settings.public_url}/mcp")
    canonical = canonical_resource(requested)
    if canonical is None or (bound is not None and canonical != bound):
        raise OAuthError("invalid_target", f"The grant is for {bound}, not {canonical}")
    return canonical


async def _issue_tokens(
    conn: Connection, settings: Settings, client: Row, grant: Row, scope: str, audience: str
) -> dict[str, Any]:
    access = new_credential(ACCESS_TOKEN_PREFIX)
    common = {
        "grant_id": grant["id"],
        "client_pk": client["id"],
        "user_id": grant["user_id"],
        "scope": scope,
        "audience": audience,
    }
    await conn.execute(
        oauth_tokens.insert().values(
            token_hash=hash_credential(access),
            kind="access",
            **common,
            expires_at=sa.func.now() + interval(settings.access_token_ttl),
        )
    )
    response: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl,
        "scope": scope,
    }
    if "refresh_token" in client["grant_types"]:
        refresh = new_credential(REFRESH_TOKEN_PREFIX)
        await conn.execute(
            oauth_tokens.insert().values(
                token_hash=hash_credential(refresh),
                kind="refresh",
                **common,
                expires_at=sa.func.now() + interval(settings.refresh_token_ttl),
            )
        )
        response["refresh_token"] = refresh
    await conn.execute(oauth_grants.update().where(oauth_grants.c.id == grant["id"]).values(last_used_at=sa.func.now()))
    await conn.execute(
        oauth_clients.update().where(oauth_clients.c.id == client["id"]).values(last_used_at=sa.func.now())
    )
    return response


async def exchange_code(
    db: Database, settings: Settings, client: Row, params: Mapping[str, str], ip: str | None = None
) -> dict[str, Any]:
    """authorization_code grant: a single-use code bound to client, redirect URI, PKCE verifier and resource."""
    code = params.get("code")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    verifier = params.get("code_verifier")
    if not verifier:
        raise OAuthError("invalid_request", "code_verifier is required (PKCE)")
    replay_error: OAuthError | None = None
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            sa.select(
                oauth_authorization_codes,
                sa.func.extract("epoch", sa.func.now() - oauth_authorization_codes.c.used_at).label("used_ago"),
                (oauth_authorization_codes.c.expires_at <= sa.func.now()).label("expired"),
                users.c.email,
                users.c.disabled.label("user_disabled"),
            )
            .join(users, users.c.id == oauth_authorization_codes.c.user_id)
            .where(oauth_authorization_codes.c.code_hash == hash_credential(code))
            .with_for_update(of=oauth_authorization_codes)
        )
        if row is None or row["client_pk"] != client["id"]:
            # Another client's code looks exactly like an unknown one.
            raise OAuthError("invalid_grant", "The authorization code is invalid or was issued to another client")
        if row["used_at"] is not None:
            revoked = 0
            if row["grant_id"] is not None and float(row["used_ago"]) > settings.code_reuse_grace:
                # RFC 6749 4.1.2: a code used twice may have been stolen; revoke what it issued. A repeat within
                # the grace window is a client retrying (ChatGPT has sent the same code twice in a second).
                revoked = await revoke_grants_where(
                    conn, oauth_grants.c.id == row["grant_id"], "authorization code replayed"
                )
            await audit.record(
                conn,
                "oauth.code_replay",
                actor=Actor(client["client_id"], ip=ip),
                target_type="grant",
                target_id=row["grant_id"],
                details={"grant_revoked": bool(revoked)},
            )
            replay_error = OAuthError("invalid_grant", "The authorization code has already been used")
        else:
            if row["expired"]:
                raise OAuthError("invalid_grant", "The authorization code has expired; start the sign-in again")
            given_redirect = params.get("redirect_uri")
            if row["redirect_uri_given"] and not given_redirect:
                raise OAuthError(
                    "invalid_request", "redirect_uri is required: it was sent in the authorization request"
                )
            if given_redirect is not None and given_redirect != row["redirect_uri"]:
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
            if not _PKCE.match(verifier) or not _verifier_matches(verifier, row["code_challenge"]):
                raise OAuthError("invalid_grant", "The code_verifier does not match the code_challenge")
            audience = _audience(params, row["resource"], settings)
            if row["user_disabled"]:
                raise OAuthError("invalid_grant", "The user's account is disabled")
            grant = await conn.fetch_one(
                oauth_grants.insert()
                .values(
                    user_id=row["user_id"],
                    client_pk=client["id"],
                    scope=row["scope"],
                    resource=row["resource"],
                )
                .returning(oauth_grants)
            )
            assert grant is not None
            await conn.execute(
                oauth_authorization_codes.update()
                .where(oauth_authorization_codes.c.id == row["id"])
                .values(used_at=sa.func.now(), grant_id=grant["id"])
            )
            response = await _issue_tokens(conn, settings, client, grant, row["scope"], audience)
            await audit.record(
                conn,
                "oauth.token",
                actor=Actor(row["email"], row["user_id"], ip),
                target_type="grant",
                target_id=grant["id"],
                details={"client_id": client["client_id"], "grant_type": "authorization_code"},
            )
    if replay_error is not None:
        raise replay_error
    return response


async def refresh_tokens(
    db: Database, settings: Settings, client: Row, params: Mapping[str, str], ip: str | None = None
) -> dict[str, Any]:
    """refresh_token grant with rotation: a retired token kills the grant, unless within the reuse grace window."""
    presented = params.get("refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is required")
    if "refresh_token" not in client["grant_types"]:
        raise OAuthError("unauthorized_client", "This client is not allowed the refresh_token grant")
    reuse_error: OAuthError | None = None
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            sa.select(
                oauth_tokens,
                sa.func.extract("epoch", sa.func.now() - oauth_tokens.c.rotated_at).label("rotated_ago"),
                (oauth_tokens.c.expires_at <= sa.func.now()).label("expired"),
                oauth_grants.c.revoked_at.label("grant_revoked_at"),
                oauth_grants.c.scope.label("grant_scope"),
                oauth_grants.c.resource.label("grant_resource"),
                users.c.email,
                users.c.disabled.label("user_disabled"),
            )
            .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
            .join(users, users.c.id == oauth_tokens.c.user_id)
            .where(oauth_tokens.c.token_hash == hash_credential(presented), oauth_tokens.c.kind == "refresh")
            .with_for_update(of=oauth_tokens)
        )
        if row is None or row["client_pk"] != client["id"]:
            raise OAuthError("invalid_grant", "The refresh token is invalid or was issued to another client")
        if row["revoked_at"] is not None or row["grant_revoked_at"] is not None:
            raise OAuthError("invalid_grant", "The refresh token has been revoked; sign in again")
        if row["expired"]:
            raise OAuthError("invalid_grant", "The refresh token has expired; sign in again")
        if row["user_disabled"]:
            raise OAuthError("invalid_grant", "The user's account is disabled")
        if row["rotated_at"] is not None and float(row["rotated_ago"]) > settings.refresh_reuse_grace:
            # RFC 9700 4.14.2: a retired refresh token coming back means two parties hold it; end the grant.
            await revoke_grants_where(conn, oauth_grants.c.id == row["grant_id"], "refresh token reused")
            await audit.record(
                conn,
                "oauth.refresh_reuse",
                actor=Actor(client["client_id"], row["user_id"], ip),
                target_type="grant",
                target_id=row["grant_id"],
            )
            reuse_error = OAuthError(
                "invalid_grant", "The refresh token was already used; the grant is revoked, sign in again"
            )
        else:
            scope = row["scope"]
            if params.get("scope"):
                asked = set(params["scope"].split())
                if not asked <= set(row["grant_scope"].split()):
                    raise OAuthError("invalid_scope", "A refresh cannot widen the scope that was granted")
                scope = " ".join(s for s in row["grant_scope"].split() if s in asked)
            audience = _audience(params, row["grant_resource"], settings)
            if row["rotated_at"] is None:
                await conn.execute(
                    oauth_tokens.update()
                    .where(oauth_tokens.c.id == row["id"])
                    .values(rotated_at=sa.func.now(), last_used_at=sa.func.now())
                )
            # Within the grace window a duplicate concurrent refresh gets its own fresh pair on the same grant.
            grant = {"id": row["grant_id"], "user_id": row["user_id"]}
            response = await _issue_tokens(conn, settings, client, grant, scope, audience)
            await audit.record(
                conn,
                "oauth.token",
                actor=Actor(row["email"], row["user_id"], ip),
                target_type="grant",
                target_id=row["grant_id"],
                details={
                    "client_id": client["client_id"],
                    "grant_type": "refresh_token",
                    "within_reuse_grace": row["rotated_at"] is not None,
                },
            )
    if reuse_error is not None:
        raise reuse_error
    return response


async def issue_token(
    db: Database, settings: Settings, client: Row, params: Mapping[str, str], ip: str | None = None
) -> dict[str, Any]:
    """The token endpoint's dispatch on grant_type."""
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type == "authorization_code":
        return await exchange_code(db, settings, client, params, ip)
    if grant_type == "refresh_token":
        return await refresh_tokens(db, settings, client, params, ip)
    raise OAuthError("unsupported_grant_type", "Supported grant types: authorization_code, refresh_token")


# ---- revocation and introspection ------------------------------------------------------------------------


async def revoke_token(db: Database, client: Row, token: str, *, ip: str | None = None) -> None:
    """RFC 7009: revoke the client's own token (a refresh token takes its whole grant). Unknown tokens: no-op."""
    async with db.transaction() as conn:
        row = await conn.fetch_one(
            sa.select(oauth_tokens).where(oauth_tokens.c.token_hash == hash_credential(token)).with_for_update()
        )
        if row is None:
            return
        if row["client_pk"] != client["id"]:
            # RFC 7009 2.1: a client may revoke only tokens issued to it.
            raise OAuthError("invalid_grant", "The token was issued to another client")
        if row["kind"] == "refresh":
            await revoke_grants_where(conn, oauth_grants.c.id == row["grant_id"], "revoked by client")
        elif row["revoked_at"] is None:
            await conn.execute(
                oauth_tokens.update().where(oauth_tokens.c.id == row["id"]).values(revoked_at=sa.func.now())
            )
            await revocations.notify_tokens(conn, [row["token_hash"]])
        await audit.record(
            conn,
            "token.revoke",
            actor=Actor(client["client_id"], row["user_id"], ip),
            target_type="grant",
            target_id=row["grant_id"],
            details={"kind": row["kind"]},
        )


async def introspect_token(
    db: Database, settings: Settings, client: Row, token: str, *, authenticated_with: str
) -> dict[str, Any]:
    """RFC 7662 for a confidential client: details of its own active tokens, {"active": false} for anything else.
    `authenticated_with` is how the client proved itself on this request: a public client (none) may not ask."""
    if authenticated_with == PUBLIC_METHOD:
        raise invalid_client("Introspection is for confidential clients (a secret or a signed client assertion)")
    row = await db.fetch_one(
        sa.select(
            oauth_tokens,
            users.c.email,
            users.c.disabled.label("user_disabled"),
            oauth_grants.c.revoked_at.label("grant_revoked_at"),
            (oauth_tokens.c.expires_at > sa.func.now()).label("live"),
            sa.func.extract("epoch", oauth_tokens.c.expires_at).label("exp"),
            sa.func.extract("epoch", oauth_tokens.c.created_at).label("iat"),
        )
        .join(users, users.c.id == oauth_tokens.c.user_id)
        .join(oauth_grants, oauth_grants.c.id == oauth_tokens.c.grant_id)
        .where(oauth_tokens.c.token_hash == hash_credential(token))
    )
    if (
        row is None
        or row["client_pk"] != client["id"]
        or not row["live"]
        or row["revoked_at"] is not None
        or row["grant_revoked_at"] is not None
        or row["user_disabled"]
        or client["disabled"]
        or (row["kind"] == "refresh" and row["rotated_at"] is not None)
    ):
        return {"active": False}
    answer: dict[str, Any] = {
        "active": True,
        "scope": row["scope"],
        "client_id": client["client_id"],
        "username": row["email"],
        "sub": str(row["user_id"]),
        "token_type": "Bearer" if row["kind"] == "access" else "refresh_token",
        "exp": int(row["exp"]),
        "iat": int(row["iat"]),
        "iss": settings.issuer,
    }
    if row["audience"]:
        answer["aud"] = row["audience"]
    return answer

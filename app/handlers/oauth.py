"""OAuth 2.1 endpoints: the sign-in and consent page, token, revocation, registration and introspection.

The JSON endpoints answer RFC 6749 errors ({"error", "error_description"}), never the API error shape or HTML.
They are not cookie-authenticated, so Tornado's XSRF check does not apply to them; the consent form keeps it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app import metrics
from app.auth.oauth import (
    AuthorizationRequest,
    AuthorizePageError,
    AuthorizeRedirectError,
    OAuthError,
    authenticate_client,
    authorization_response_url,
    client_credentials,
    create_authorization_code,
    introspect_token,
    issue_token,
    revoke_token,
    validate_authorization_request,
)
from app.auth.rate_limit import registration_allowed
from app.auth.redirects import client_hosts, form_action_source, redirect_target
from app.auth.registration import register_dynamic_client
from app.auth.signin import SignInError
from app.db import UNAVAILABLE, Row
from app.handlers.base import PAGE_CSP, ApiError, ErrorText
from app.handlers.bodies import BoundedBodyHandler
from app.handlers.browser import SessionHandler

log = logging.getLogger("secondlayer")

FORM_TYPE = "application/x-www-form-urlencoded"


class OAuthAPIHandler(BoundedBodyHandler):
    """Base of the JSON OAuth endpoints: RFC 6749 errors, no caching, CORS for browser-based MCP clients."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Pragma", "no-cache")
        # Bearer-less, cookie-less endpoints: any origin may call them (MCP Inspector runs in a browser).
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
        self.set_header("Access-Control-Allow-Methods", "POST, OPTIONS")

    def options(self, *args: Any) -> None:
        self.set_status(204)
        self.finish()

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, OAuthError):
            # A client error, answered as RFC 6749 JSON. The description names no secret (only methods, claims,
            # URLs of public documents), and it is what an operator needs when a connector cannot sign in.
            log.info("%s answered %s: %s", self.request.path, value.error, value.description)
            return
        super().log_exception(typ, value, tb)  # path only: no query string, no headers (Basic carries secrets)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OAuthError):
            status_code, error, description = exc.status, exc.error, exc.description
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, ApiError):  # the body's size or shape, refused before any OAuth rule ran
            status_code, error, description = exc.status_code, "invalid_request", exc.message
        elif isinstance(exc, UNAVAILABLE):
            status_code, error, description = 503, "temporarily_unavailable", "The database is unavailable; retry"
        elif status_code < 500:
            error = "invalid_request"
            description = getattr(exc, "log_message", None) or f"The request was refused (HTTP {status_code})"
            if status_code == 405:
                description = f"{self.request.method} is not allowed here"
        else:
            error, description = "server_error", f"Internal error; quote request id {self.request_id}"
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": error, "error_description": description}, ensure_ascii=False))

    def oauth_params(self) -> dict[str, str]:
        """The body parameters, form-encoded (RFC 6749) or JSON; repeated or non-string values are refused."""
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == FORM_TYPE:
            params: dict[str, str] = {}
            for name, values in self.form_arguments().items():
                if len(values) > 1:
                    raise OAuthError("invalid_request", f"The {name} parameter is repeated")
                params[name] = values[0].decode("utf-8", errors="replace")
            return params
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                body = json.loads(self.body() or b"{}")
            except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deeply
                raise OAuthError("invalid_request", "The body is not valid JSON") from None
            if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
                raise OAuthError("invalid_request", "The JSON body must be an object of string values")
            return body
        raise OAuthError("invalid_request", f"Send the body as {FORM_TYPE} or application/json")

    async def client(self, params: dict[str, str]) -> Row:
        client, _method = await self.authenticated_client(params)
        return client

    async def authenticated_client(self, params: dict[str, str]) -> tuple[Row, str]:
        """The client and the method it proved itself with on this request."""
        creds = client_credentials(self.request.headers.get("Authorization"), params)
        client = await authenticate_client(
            self.db,
            self.config,
            creds,
            ip=self.request.remote_ip,
            endpoint_path=self.request.path,
            jwks_cache=self.services.jwks,
        )
        assert creds is not None  # authenticate_client refuses None
        return client, creds.method


class TokenHandler(OAuthAPIHandler):
    """POST /oauth/token: authorization_code and refresh_token grants."""

    async def post(self) -> None:
        params = self.oauth_params()
        client = await self.client(params)
        response = await issue_token(self.db, self.config, client, params, ip=self.request.remote_ip)
        metrics.oauth_tokens.labels("refreshed" if params.get("grant_type") == "refresh_token" else "issued").inc()
        self.write_json(response)


class RevocationHandler(OAuthAPIHandler):
    """POST /oauth/revoke (RFC 7009): 200 for revoked and for unknown tokens alike."""

    async def post(self) -> None:
        params = self.oauth_params()
        client = await self.client(params)
        token = params.get("token")
        if not token:
            raise OAuthError("invalid_request", "token is required")
        await revoke_token(self.db, client, token, ip=self.request.remote_ip)
        metrics.oauth_tokens.labels("revoked").inc()
        self.write_json({})


class IntrospectionHandler(OAuthAPIHandler):
    """POST /oauth/introspect (RFC 7662): confidential clients learn about their own tokens."""

    async def post(self) -> None:
        params = self.oauth_params()
        client, method = await self.authenticated_client(params)
        token = params.get("token")
        if not token:
            raise OAuthError("invalid_request", "token is required")
        self.write_json(await introspect_token(self.db, self.config, client, token, authenticated_with=method))


class RegistrationHandler(OAuthAPIHandler):
    """POST /oauth/register (RFC 7591): JSON in, 201 with the client information out; limited per IP."""

    async def post(self) -> None:
        wait = await registration_allowed(self.db, self.request.remote_ip, self.config.registration_rate_limit)
        if wait:
            raise OAuthError(
                "temporarily_unavailable",
                f"Too many client registrations from this address; retry in {wait} seconds",
                429,
                {"Retry-After": str(wait)},
            )
        try:
            body = self.json_body()
        except ApiError as exc:
            if exc.status_code == 413:
                raise
            raise OAuthError("invalid_client_metadata", "Send the client metadata as a JSON object") from None
        answer = await register_dynamic_client(self.db, self.config, body, ip=self.request.remote_ip)
        self.write_json(answer, status=201)


# What the consent page's error page tells someone who arrived from ChatGPT or Claude, by AuthorizePageError's
# reason (and by status for errors raised outside it): what happened, and what to do about it.
CONSENT_ERRORS = {
    "invalid_request": ErrorText(
        "This sign-in link is not complete",
        "The app sent you here with a sign-in request that is missing something or is not valid.",
        "Go back to the app and connect again. If it keeps happening, tell your administrator.",
    ),
    "client_metadata": ErrorText(
        "The app's description could not be read",
        "SecondLayer could not use the description the app publishes about itself, so it cannot tell you who is "
        "asking for access.",
        "Go back to the app and connect again in a few minutes. If it keeps happening, tell your administrator.",
    ),
    "unknown_client": ErrorText(
        "This app is not registered here",
        "The app that sent you here is not registered with this SecondLayer server, so it cannot connect to it.",
        "Ask your administrator to register this app, then go back to the app and connect again.",
    ),
    "client_disabled": ErrorText(
        "This app has been switched off",
        "An administrator has disabled this app on this SecondLayer server.",
        "Ask your administrator to enable it again, then go back to the app and connect again.",
    ),
    "unregistered_redirect_uri": ErrorText(
        "This app's return address is not registered",
        "The app asked SecondLayer to send you back to an address that is not registered for it, so SecondLayer "
        "stopped here to keep your account safe.",
        "Ask your administrator to add the app's redirect URI to its registration, then go back to the app and "
        "connect again.",
    ),
    "expired_form": ErrorText(
        "This sign-in page has expired",
        "The page was open for too long, or your browser did not send back the cookie the page needs.",
        "Go back to the app and connect again.",
    ),
    "server_error": ErrorText(
        "Something went wrong on our side",
        "SecondLayer could not finish signing you in. Nothing you did caused this.",
        "Go back to the app and connect again. If it keeps happening, give your administrator the request id below.",
    ),
    "unavailable": ErrorText(
        "SecondLayer is temporarily unavailable",
        "The server cannot reach its database right now.",
        "Go back to the app and connect again in a few minutes.",
    ),
}


class AuthorizeHandler(SessionHandler):
    """GET/POST /oauth/authorize: the branded sign-in and consent page; answers the client by 302."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")

    def request_params(self, source: dict[str, list[bytes]]) -> dict[str, list[str]]:
        return {k: [v.decode("utf-8", errors="replace") for v in vs] for k, vs in source.items()}

    async def validated(self, params: dict[str, list[str]]) -> AuthorizationRequest | None:
        """The request, or None after answering with an error page or an error redirect."""
        try:
            request = await validate_authorization_request(self.db, self.config, params, ip=self.request.remote_ip)
        except AuthorizePageError as exc:
            self.render_error_page(exc.status, CONSENT_ERRORS[exc.reason], exc.message, home_link=False)
            return None
        except AuthorizeRedirectError as exc:
            self.allow_form_redirect_to(exc.redirect_uri)
            self.back_to_client(
                exc.redirect_uri, {"error": exc.error, "error_description": exc.description, "state": exc.state}
            )
            return None
        self.allow_form_redirect_to(request.redirect_uri)
        return request

    def allow_form_redirect_to(self, redirect_uri: str) -> None:
        # Chrome checks form-action against the redirect that follows the POST: allow the client's origin.
        csp = PAGE_CSP.replace("form-action 'self'", f"form-action 'self' {form_action_source(redirect_uri)}")
        self.set_header("Content-Security-Policy", csp)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors raised outside the request's checks (the form's XSRF token, the database), told to someone who
        came from an app: what happened, and to go back to the app and connect again."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, UNAVAILABLE):
            status_code, reason = 503, "unavailable"
        elif status_code >= 500:
            reason = "server_error"
        elif status_code == 403:  # Tornado's XSRF check is the one 403 this page raises
            reason = "expired_form"
        else:
            reason = "invalid_request"
        message = "" if status_code >= 500 else getattr(exc, "log_message", None) or ""
        self.render_error_page(status_code, CONSENT_ERRORS[reason], message, home_link=False)

    def back_to_client(self, redirect_uri: str, params: dict[str, str | None]) -> None:
        # RFC 9207: every authorization response names the issuer, success or error.
        self.redirect(authorization_response_url(redirect_uri, {**params, "iss": self.config.issuer}))

    def show(
        self,
        request: AuthorizationRequest,
        user: Row | None,
        error: str | None = None,
        email: str = "",
        status: int = 200,
    ) -> None:
        self.set_status(status)
        self.render(
            "authorize.html",
            client=request.client,
            fields=request.form_fields(),
            user=user,
            target=redirect_target(request.redirect_uri),
            error=error,
            email=email,
            **client_hosts(request.client),
        )

    async def get(self) -> None:
        request = await self.validated(self.request_params(self.request.query_arguments))
        if request is None:
            return
        self.show(request, await self.session_user())

    async def post(self) -> None:
        request = await self.validated(self.request_params(self.request.body_arguments))
        if request is None:
            return
        decision = self.get_body_argument("decision", "")
        if decision == "deny":
            self.back_to_client(
                request.redirect_uri,
                {"error": "access_denied", "error_description": "The user denied access", "state": request.state},
            )
            return
        if decision == "switch":
            await self.sign_out(purpose="oauth")
            self.show(request, None)
            return
        user = await self.signed_in_user(request)
        if user is None:
            return
        code = await create_authorization_code(self.db, self.config, request, user, ip=self.request.remote_ip)
        self.back_to_client(request.redirect_uri, {"code": code, "state": request.state})

    async def signed_in_user(self, request: AuthorizationRequest) -> Row | None:
        """The session's user, or the one whose password was just checked; None after re-showing the form."""
        user = await self.session_user()
        if user is not None:
            return user
        email = self.get_body_argument("email", "").strip()
        try:
            return await self.sign_in(email, self.get_body_argument("password", ""), purpose="oauth")
        except SignInError as exc:
            status, message = self.refusal(exc)
            self.show(request, None, error=message, email=email, status=status)
            return None


routes = [
    (r"/oauth/authorize", AuthorizeHandler),
    (r"/oauth/token", TokenHandler),
    (r"/oauth/revoke", RevocationHandler),
    (r"/oauth/register", RegistrationHandler),
    (r"/oauth/introspect", IntrospectionHandler),
]

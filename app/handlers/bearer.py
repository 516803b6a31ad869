"""The base of API handlers guarded by hybrid bearer auth: an OAuth access token or an API key."""

from __future__ import annotations

from app.auth.bearer import Principal
from app.handlers.base import ApiError
from app.handlers.bodies import BoundedBodyHandler


class BearerAPIHandler(BoundedBodyHandler):
    """An API handler guarded by hybrid bearer auth (OAuth access token or API key).

    `resource_path` names the protected resource whose RFC 9728 metadata a 401 points clients at.
    """

    resource_path = "/mcp"
    required_scope = "mcp"
    principal: Principal | None = None

    @property
    def resource_metadata_url(self) -> str:
        return f"{self.config.public_url}/.well-known/oauth-protected-resource{self.resource_path}"

    def _challenge(self, error: str | None, description: str | None = None) -> str:
        parts = [f'resource_metadata="{self.resource_metadata_url}"', f'scope="{self.required_scope}"']
        if error:
            parts.insert(0, f'error="{error}"')
            if description:
                parts.append('error_description="{}"'.format(description.replace('"', "'")))
        return "Bearer " + ", ".join(parts)

    async def require_principal(self) -> Principal:
        """The caller, or ApiError 401/403 with the WWW-Authenticate challenge RFC 6750 and RFC 9728 ask for."""
        from app.auth.bearer import BearerError, parse_authorization

        header = self.request.headers.get("Authorization")
        try:
            if not header and "access_token" in self.request.query_arguments:
                # OAuth 2.1 forbids tokens in URLs: they end up in logs and browser history.
                raise BearerError(401, "invalid_request", "Send the token in the Authorization header, not in the URL")
            token = parse_authorization(header)
            principal = await self.services.authenticator.authenticate(token)
        except BearerError as exc:
            challenge = self._challenge(exc.error, exc.description if exc.error else None)
            raise ApiError(
                exc.status, exc.error or "unauthorized", exc.description, {"WWW-Authenticate": challenge}
            ) from None
        if self.required_scope not in principal.scopes:
            raise ApiError(
                403,
                "insufficient_scope",
                f"This needs the '{self.required_scope}' scope",
                {"WWW-Authenticate": self._challenge("insufficient_scope")},
            )
        self.principal = principal
        return principal

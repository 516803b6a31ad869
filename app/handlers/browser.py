"""What the pages a person opens in a browser share: the session cookie, password sign-in, local redirects.

The OAuth consent page and the operator console both sign people in through `SessionHandler`, so the two
cannot drift apart in how the cookie is set, which sentence a refusal shows, or which status it answers with.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from app import metrics
from app.auth import signin
from app.auth.signin import SESSION_COOKIE, SignInError
from app.db import Row
from app.handlers.base import BaseHandler

# A refused sign-in re-shows the form with the error. Wrong email or password (and an account without one) is
# 400 like every other form error: not 401, which RFC 9110 (15.5.2) allows only with a WWW-Authenticate
# challenge, and a password typed into a page has no HTTP authentication scheme to name in one. A right
# password for an account that may not come in is 403; a locked account or address is 429 with Retry-After.
SIGNIN_STATUS = {"disabled": 403, "not_operator": 403, "throttled": 429}
SIGNIN_FORM_ERROR = 400


def local_path(target: str | None, default: str = "/", *, within: str = "/") -> str:
    """`target` when it is a path on this site starting with `within`, else `default`: never an open redirect.

    Browsers read a backslash as a slash, so "/\\evil.example" means "//evil.example", another host, and they
    drop tabs and newlines from URLs, so "/\\t/evil.example" becomes "//evil.example" as well.
    """
    if (
        not target
        or not target.startswith(within)
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


class SessionHandler(BaseHandler):
    """A page that knows its visitor by the signed session cookie and can sign them in with a password."""

    def session_token(self) -> str | None:
        raw = self.get_signed_cookie(SESSION_COOKIE.name, max_age_days=self.config.session_ttl / 86400)
        return raw.decode("ascii", "replace") if raw else None

    async def session_user(self) -> Row | None:
        """The enabled user behind this browser's session cookie, or None."""
        return await signin.session_user(self.db, self.session_token())

    async def sign_in(self, email: str, password: str, *, purpose: str, require_admin: bool = False) -> Row:
        """Check the password and start a fresh session for the user; SignInError when refused."""
        try:
            user = await signin.sign_in(
                self.db,
                self.config,
                email,
                password,
                ip=self.request.remote_ip,
                purpose=purpose,
                require_admin=require_admin,
            )
        except SignInError as exc:
            metrics.sign_ins.labels(exc.code if exc.code in signin.MESSAGES else "refused").inc()
            raise
        metrics.sign_ins.labels("ok").inc()
        # A fresh session id at every sign-in, and the old one ended: no session fixation.
        await signin.end_session(self.db, self.session_token())
        token = await signin.start_session(
            self.db,
            self.config,
            user["id"],
            ip=self.request.remote_ip,
            user_agent=self.request.headers.get("User-Agent"),
        )
        self.set_signed_cookie(SESSION_COOKIE.name, token, **SESSION_COOKIE.kwargs(self.config))
        return user

    async def sign_out(self, *, purpose: str) -> None:
        """End this browser's session on the server (audited) and forget the cookie."""
        await signin.sign_out(self.db, self.session_token(), ip=self.request.remote_ip, purpose=purpose)
        self.clear_cookie(SESSION_COOKIE.name)

    def refusal(self, exc: SignInError) -> tuple[int, str]:
        """The status and the translated sentence for a refused sign-in; a throttled one also gets Retry-After."""
        message = self.locale.translate(signin.MESSAGES.get(exc.code, signin.MESSAGES["invalid_credentials"]))
        if exc.code == "throttled":
            wait = exc.retry_after or 60
            self.set_header("Retry-After", str(wait))
            message = message.format(minutes=max(1, math.ceil(wait / 60)))
        return SIGNIN_STATUS.get(exc.code, SIGNIN_FORM_ERROR), message

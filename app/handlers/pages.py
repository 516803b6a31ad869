"""The few plain pages: the home page and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.handlers.base import LANGUAGES, BaseHandler


class HomeHandler(BaseHandler):
    def get(self) -> None:
        self.render("home.html")


class LanguageHandler(BaseHandler):
    """GET /lang/uk?next=/oauth/authorize?...: remember the choice in a cookie and go back."""

    def get(self, code: str) -> None:
        if code not in LANGUAGES:
            self.send_error(404)
            return
        self.set_cookie("lang", code, expires_days=365, httponly=True, samesite="Lax",
                        secure=self.config.secure_cookies)
        target = self.get_argument("next", "/")
        parts = urlsplit(target)
        # Only local paths: an open redirect here would be a phishing aid.
        if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
            target = "/"
        self.redirect(target)


routes = [
    (r"/", HomeHandler),
    (r"/lang/([a-z]{2})", LanguageHandler),
]

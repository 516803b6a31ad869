"""The few plain pages: the home page and the language switch."""

from __future__ import annotations

from app.handlers.base import LANGUAGES, BaseHandler
from app.handlers.browser import local_path


class HomeHandler(BaseHandler):
    def get(self) -> None:
        self.render("home.html")


class LanguageHandler(BaseHandler):
    """GET /lang/uk?next=/oauth/authorize?...: remember the choice in a cookie and go back."""

    def get(self, code: str) -> None:
        if code not in LANGUAGES:
            self.send_error(404)
            return
        self.set_cookie(
            "lang", code, expires_days=365, httponly=True, samesite="Lax", secure=self.config.secure_cookies
        )
        self.redirect(local_path(self.get_argument("next", "/")))


routes = [
    (r"/", HomeHandler),
    (r"/lang/([a-z]{2})", LanguageHandler),
]

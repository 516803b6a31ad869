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
        self.redirect(local_path(self.get_argument("next", "/")))


def local_path(target: str) -> str:
    """`target` when it is a path on this site, else "/": an open redirect here would be a phishing aid.

    Browsers read a backslash as a slash, so "/\\evil.example" means "//evil.example", another host.
    """
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in target)):
        return "/"
    return target


routes = [
    (r"/", HomeHandler),
    (r"/lang/([a-z]{2})", LanguageHandler),
]

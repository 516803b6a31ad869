"""Signing in to the console and out of it."""

from __future__ import annotations

from app.admin.forms import LoginForm
from app.auth.signin import SignInError
from app.handlers.admin.base import CONSOLE, LOGIN_URL, AdminHandler, ConsoleHandler
from app.handlers.browser import local_path


class LoginHandler(ConsoleHandler):
    """GET shows the sign-in form; POST checks the password like the OAuth sign-in and starts a session."""

    def get(self) -> None:
        self.page("admin/login.html", form=LoginForm(), error=None, next=self.next_path())

    async def post(self) -> None:
        form = self.form(LoginForm)
        target = local_path(self.get_body_argument("next", None), CONSOLE, within=CONSOLE)
        if not form.validate():
            self.page("admin/login.html", status=400, form=form, error=None, next=target)
            return
        try:
            await self.sign_in(form.email.data, form.password.data, purpose="admin", require_admin=True)
        except SignInError as exc:
            status, message = self.refusal(exc)
            self.page("admin/login.html", status=status, form=form, error=message, next=target)
            return
        self.redirect(target, status=303)


class LogoutHandler(AdminHandler):
    async def post(self) -> None:
        await self.sign_out(purpose="admin")
        self.flash("You are signed out")
        self.redirect(LOGIN_URL, status=303)


routes = [
    (r"/admin/login", LoginHandler),
    (r"/admin/logout", LogoutHandler),
]
